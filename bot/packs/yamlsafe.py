"""Safe YAML loading that remembers where every value came from.

Packs are written by people and uploaded by strangers, so the loader:

* accepts only the plain YAML that ``yaml.SafeLoader`` understands: any ``!!python/...`` or
  other application tag is refused with a message naming the tag;
* refuses a file over :data:`MAX_PACK_BYTES` before reading it into the parser;
* refuses a document whose alias-expanded size exceeds :data:`MAX_NODES` (a "billion laughs"
  bomb) by measuring the node graph, which takes time linear in the file, not in the expansion;
* refuses bytes that are not UTF-8 with the offset of the first bad byte.

Every mapping key, sequence entry and scalar is recorded in a :class:`Positions` table keyed by
its path (``("items", 3, "answer")``) so that validation messages can point at the key's own
line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_PACK_BYTES = 8 * 1024 * 1024
"""Largest pack file accepted (8 MiB): ten thousand items of ordinary length fit comfortably."""

MAX_NODES = 1_000_000
"""Largest number of YAML values (after expanding aliases) a pack may contain."""

Path_ = tuple[str | int, ...]

# Scalars that YAML 1.1 (and so PyYAML) turns into booleans although an author usually means
# the word itself ("Yes", "No", "On", "Off").
YAML11_BOOLEAN_WORDS = frozenset({"yes", "no", "on", "off", "y", "n"})

_PLAIN_TAGS = frozenset(
    {
        "tag:yaml.org,2002:str",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:seq",
        "tag:yaml.org,2002:map",
        "tag:yaml.org,2002:timestamp",
    }
)


class YamlLoadError(Exception):
    """The file cannot be read as a pack at all; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Mark:
    """Where a value starts in the file (1-based), and the raw text of a scalar."""

    line: int
    column: int
    raw: str | None = None
    tag: str | None = None

    @property
    def yaml11_boolean(self) -> bool:
        """True when YAML 1.1 turned a word like ``yes`` or ``off`` into a boolean."""
        return (
            self.tag == "tag:yaml.org,2002:bool"
            and self.raw is not None
            and self.raw.lower() in YAML11_BOOLEAN_WORDS
        )


@dataclass
class Positions:
    """Source positions by value path; lookups fall back to the closest enclosing value."""

    marks: dict[Path_, Mark] = field(default_factory=dict)
    duplicate_keys: list[tuple[Path_, Mark]] = field(default_factory=list)

    def get(self, path: Path_) -> Mark:
        for end in range(len(path), -1, -1):
            mark = self.marks.get(tuple(path[:end]))
            if mark is not None:
                return mark
        return Mark(1, 1)

    def exact(self, path: Path_) -> Mark | None:
        return self.marks.get(tuple(path))


def decode_pack_bytes(data: bytes) -> str:
    """Decode UTF-8 (with or without a byte-order mark), or raise with the first bad offset."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlLoadError(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8",
            line,
            column,
        ) from None


def load_yaml(data: bytes) -> tuple[Any, Positions]:
    """Parse one YAML document from ``data`` into plain Python values and their positions."""
    if len(data) > MAX_PACK_BYTES:
        raise YamlLoadError(
            f"the file is {len(data):,} bytes; a pack may be at most {MAX_PACK_BYTES:,} bytes"
        )
    text = decode_pack_bytes(data)
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            what = exc.problem or str(exc)
            if exc.context:
                what = f"{exc.context}, {what}"
            raise YamlLoadError(f"YAML syntax error: {what}", line, column) from None
        except yaml.YAMLError as exc:
            raise YamlLoadError(f"YAML error: {exc}") from None
        if node is None:
            raise YamlLoadError("the file is empty")
        _check_graph(node)
        positions = Positions()
        value = _build(loader, node, (), positions)
    finally:
        loader.dispose()
    return value, positions


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _check_graph(root: Node) -> None:
    """Refuse unknown tags and documents whose alias-expanded size is too large.

    The expanded size is computed over the node graph with memoisation, so a document with a
    handful of nested aliases that would expand to billions of values is measured and refused
    in microseconds instead of being expanded.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_NODES:
                line, column = _mark(node)
                raise YamlLoadError(
                    f"the document expands to more than {MAX_NODES:,} values "
                    "(aliases that multiply, a 'billion laughs' file?); refused",
                    line,
                    column,
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            line, column = _mark(node)
            raise YamlLoadError("a recursive alias refers to itself; refused", line, column)
        if node.tag not in _PLAIN_TAGS:
            line, column = _mark(node)
            raise YamlLoadError(
                f"the tag {node.tag!r} is not allowed: packs are plain YAML "
                "(no Python or custom tags)",
                line,
                column,
            )
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _build(
    loader: yaml.SafeLoader,
    node: Node,
    path: Path_,
    positions: Positions,
    at: tuple[int, int] | None = None,
) -> Any:
    """Turn ``node`` into Python values, recording positions; ``at`` overrides this value's own
    position (a mapping value is reported on its key's line)."""
    line, column = at or _mark(node)
    if isinstance(node, ScalarNode):
        positions.marks[path] = Mark(line, column, node.value, node.tag)
        # Timestamps become dates in PyYAML; a pack never wants a date object, so keep the text
        # and let validation complain about the type with the author's own spelling.
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value
        return loader.construct_object(node, deep=True)
    positions.marks[path] = Mark(line, column)
    if isinstance(node, SequenceNode):
        return [
            _build(loader, child, (*path, index), positions)
            for index, child in enumerate(node.value)
        ]
    if isinstance(node, MappingNode):
        result: dict[str, Any] = {}
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            kline, kcolumn = _mark(key_node)
            if not isinstance(key_node, ScalarNode):
                raise YamlLoadError("a mapping key must be plain text", kline, kcolumn)
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                # `No:` or `2024:` as a key (per-option feedback): keep the author's own word.
                key = str(key_node.value)
            if key in result:
                # Reported by validation with every other problem; the later value wins, as
                # in PyYAML.
                positions.duplicate_keys.append(((*path, key), Mark(kline, kcolumn)))
            result[key] = _build(loader, value_node, (*path, key), positions, (kline, kcolumn))
        return result
    raise YamlLoadError(f"unsupported YAML node {type(node).__name__}", line, column)
