"""Safe YAML loading that remembers where every value came from.

Packs are written by people and uploaded by strangers, so the loader:

* accepts only the plain YAML that ``yaml.safe_load`` understands (merge keys ``<<`` included):
  any ``!!python/...`` or other application tag is refused with a message naming the tag;
* refuses a file over :data:`MAX_PACK_BYTES` before reading it into the parser;
* refuses a document whose alias-expanded size exceeds :data:`MAX_NODES` (a "billion laughs"
  bomb) by measuring the node graph, which takes time linear in the file, not in the expansion,
  and a document nested deeper than :data:`MAX_DEPTH`;
* refuses bytes that are not UTF-8, and characters YAML forbids, with their line and column.

Every mapping key, sequence entry and scalar can be found by its path (``("items", 3,
"answer")``) in a :class:`Positions` table, so that validation messages can point at the key's
own line and column. The table walks the document's node graph when a position is asked for:
a pack without problems asks for none, and recording each of its values' positions up front
cost a 10,000-item pack a fifth of its parse time.

A pack is plain YAML: no anchors, aliases, tags or merge keys. Such a document is built straight
from the parser's events (:func:`_load_plain`), which takes half the time and a fraction of the
memory of composing the node graph first; the graph is only composed if a position is asked
for. Any other document, or one with an error, takes the node path (:func:`_load_nodes`), which
checks aliases, tags and merges and says what is wrong.

libyaml (``yaml.CSafeLoader``) parses when PyYAML was built with it, which makes a 10,000-item
pack parse several times faster; the pure-Python ``SafeLoader`` gives the same values otherwise.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.packs.facts import Fact, Say, fact
from bot.packs.wording import english

MAX_PACK_BYTES = 8 * 1024 * 1024
"""Largest pack file accepted (8 MiB): ten thousand items of ordinary length fit comfortably."""

MAX_NODES = 1_000_000
"""Largest number of YAML values (after expanding aliases) a pack may contain."""

MAX_DEPTH = 32
"""Deepest nesting of lists and mappings accepted; a pack needs five levels."""

Path_ = tuple[str | int, ...]

_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Scalars that YAML 1.1 (and so PyYAML) turns into booleans although an author usually means
# the word itself ("Yes", "No", "On", "Off").
YAML11_BOOLEAN_WORDS = frozenset({"yes", "no", "on", "off", "y", "n"})

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"

_AS_TEXT = frozenset({"tag:yaml.org,2002:str", _TIMESTAMP})

_PLAIN_TAGS = frozenset(
    {
        "tag:yaml.org,2002:str",
        _INT,
        _FLOAT,
        _BOOL,
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:seq",
        "tag:yaml.org,2002:map",
        _TIMESTAMP,
        _MERGE,
    }
)

# YAML 1.1 numbers that do not mean what they look like: 017 is octal (15), 1:20 is base 60 (80).
_OCTAL = re.compile(r"[-+]?0[0-7_]+")
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")

# Characters YAML does not allow in a stream (PyYAML's Reader.NON_PRINTABLE).
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


class YamlLoadError(Exception):
    """The file cannot be read as a pack at all; ``line`` and ``column`` are 1-based."""

    def __init__(self, fact: Fact, line: int = 1, column: int = 1) -> None:
        super().__init__(fact.code)
        self.fact = fact
        self.line = line
        self.column = column

    @property
    def message(self) -> str:
        """What is wrong, in English (logs, tests)."""
        return english(self.fact)


class Mark(NamedTuple):
    """Where a value starts in the file (1-based), and the raw text of a scalar.

    A named tuple rather than a dataclass: a large pack records hundreds of thousands."""

    line: int
    column: int
    raw: str | None = None
    tag: str | None = None

    @property
    def yaml11_boolean(self) -> bool:
        """True when YAML 1.1 turned a word like ``yes`` or ``off`` into a boolean."""
        return (
            self.tag == _BOOL and self.raw is not None and self.raw.lower() in YAML11_BOOLEAN_WORDS
        )

    @property
    def yaml11_number(self) -> Fact | None:
        """How YAML 1.1 surprisingly read a number ("the octal number 15"), else None."""
        if self.raw is None or self.tag not in (_INT, _FLOAT):
            return None
        if self.tag == _INT and _OCTAL.fullmatch(self.raw) and self.raw.strip("+-0_"):
            return fact(Say.OCTAL_NUMBER, value=str(int(self.raw.replace("_", ""), 8)))
        if _SEXAGESIMAL.fullmatch(self.raw):
            value = yaml.safe_load(self.raw)
            return fact(Say.BASE60_NUMBER, value=str(value))
        return None


@dataclass
class Positions:
    """Source positions by value path; lookups fall back to the closest enclosing value.

    A value's position is where it starts, except that a mapping's value is placed on its key.
    Where a key appears twice, the later value is the one that counts, as in the loaded data.
    The node graph is ``root``, or composed from ``source`` at the first lookup.
    """

    root: Node | None = None
    source: str | None = None
    duplicate_keys: list[tuple[Path_, Mark]] = field(default_factory=list)
    yaml11_numbers: list[Path_] = field(default_factory=list)
    """Where YAML 1.1 read a number unlike it looks (see :attr:`Mark.yaml11_number`)."""

    def get(self, path: Path_) -> Mark:
        for end in range(len(path), -1, -1):
            mark = self.exact(path[:end])
            if mark is not None:
                return mark
        return Mark(1, 1)

    def exact(self, path: Path_) -> Mark | None:
        if self.root is None and self.source is not None:
            loader = _SafeLoader(self.source)
            try:
                self.root = loader.get_single_node()
            finally:
                loader.dispose()
            self.source = None
        if self.root is None:
            return None
        return _find(self.root, _mark(self.root), tuple(path))


def _find(node: Node, at: tuple[int, int], path: Path_) -> Mark | None:
    """The mark of the value at ``path`` below ``node`` (placed at ``at``), or None."""
    if not path:
        if isinstance(node, ScalarNode):
            return Mark(at[0], at[1], node.value, node.tag)
        return Mark(at[0], at[1])
    segment, rest = path[0], path[1:]
    if isinstance(node, SequenceNode):
        if isinstance(segment, int) and 0 <= segment < len(node.value):
            child = node.value[segment]
            return _find(child, _mark(child), rest)
        return None
    if isinstance(node, MappingNode):
        merged, own = _pairs(node)
        # The last pair with the key wins, as in the loaded mapping; an earlier one (a duplicate
        # key) still places what only it holds.
        for key_node, value_node in reversed(merged + own):
            # A key is always its own text (see `_build`).
            if key_node.value == segment and isinstance(key_node, ScalarNode):
                found = _find(value_node, _mark(key_node), rest)
                if found is not None:
                    return found
    return None


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def decode_pack_bytes(data: bytes) -> str:
    """Decode UTF-8 (with or without a byte-order mark), or raise with the first bad offset."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise YamlLoadError(fact(Say.FILE_UTF16))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = f"{data[exc.start]:02x}"
        raise YamlLoadError(
            fact(Say.FILE_NOT_UTF8, byte=byte, offset=exc.start), line, column
        ) from None


def load_yaml(data: bytes) -> tuple[Any, Positions]:
    """Parse one YAML document from ``data`` into plain Python values and their positions."""
    if len(data) > MAX_PACK_BYTES:
        raise YamlLoadError(fact(Say.FILE_TOO_BIG, size=len(data), limit=MAX_PACK_BYTES))
    text = decode_pack_bytes(data)
    bad = _NON_PRINTABLE.search(text)
    if bad:
        raise YamlLoadError(
            fact(Say.CONTROL_CHARACTER, code=f"{ord(bad.group()):04X}"),
            *_line_column(text, bad.start()),
        )
    with collector_paused():
        return _parse(text)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a pack is parsed and validated (and, by
    :func:`bot.store.importer.import_files`, written).

    A large pack makes hundreds of thousands of small acyclic objects (nodes, values, items,
    rows); the collector, triggered every few hundred allocations, would rescan them over and
    over and double the time a pack of 10,000 items takes. Reference counting frees them as
    usual. Pauses nest: the outermost one resumes the collector.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse(text: str) -> tuple[Any, Positions]:
    return _load_plain(text) or _load_nodes(text)


_TEXT = "tag:yaml.org,2002:str"
_CONSTRUCTED = frozenset({_INT, _FLOAT, _BOOL, "tag:yaml.org,2002:null"})
_OPEN = object()  # a mapping's key slot before its key is read


def _load_plain(text: str) -> tuple[Any, Positions] | None:
    """The document built from the parser's events; None when it is not plain YAML.

    Plain: one document whose scalars YAML resolves to text, numbers, booleans, nulls or
    timestamps, whose keys are scalars, with no anchor, alias, tag or merge key, at most
    :data:`MAX_DEPTH` levels deep and at most :data:`MAX_NODES` values. For such a document
    the node path gives the same values and positions, and finds nothing to refuse. Anything
    else, an error included, is left to the node path, which builds it or says what is wrong.
    """
    loader = _SafeLoader(text)
    try:
        return _from_events(loader, text)
    except Exception:  # the node path meets the same error, and reports or raises it
        return None
    finally:
        loader.dispose()


def _from_events(loader: yaml.SafeLoader, text: str) -> tuple[Any, Positions] | None:
    """:func:`_load_plain`'s work: one pass over the events, with a stack of open collections."""
    positions = Positions(source=text)
    next_event: Callable[[], Any] = loader.get_event
    resolve: Callable[[type[Node], str, tuple[bool, bool]], str] = loader.resolve
    resolved: dict[str, str] = {}  # plain scalar -> its tag; a pack repeats its keys
    if not isinstance(next_event(), StreamStartEvent):
        return None
    if not isinstance(next_event(), DocumentStartEvent):
        return None  # an empty file
    # The open collections, innermost last; for each, the key its next value goes under (_OPEN
    # while a mapping awaits its next key, None for a list), and its own path segment.
    collections: list[Any] = []
    keys: list[Any] = []
    segments: list[str | int] = []
    values = 0
    while True:
        event = next_event()
        kind = type(event)
        if kind is ScalarEvent:
            if event.anchor is not None or event.tag is not None:
                return None
            values += 1
            value = event.value
            if event.implicit[0]:
                tag = resolved.get(value)
                if tag is None:
                    tag = resolved[value] = resolve(ScalarNode, value, event.implicit)
            else:
                tag = _TEXT
            if tag in _AS_TEXT:
                constructed = value
            elif tag in _CONSTRUCTED:
                node = ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
                constructed = loader.construct_object(node)
            else:
                return None  # a merge key `<<`, or a tag a pack may not use
            if collections and keys[-1] is _OPEN:
                # A key: always its own text (`No:` or `2024:` included), as on the node path.
                if value in collections[-1]:
                    mark = Mark(event.start_mark.line + 1, event.start_mark.column + 1)
                    positions.duplicate_keys.append(((*segments, value), mark))
                keys[-1] = value
                continue
            if tag in _NUMBERS and Mark(0, 0, value, tag).yaml11_number is not None:
                path: Path_ = ()
                if collections:
                    key = keys[-1]
                    path = (*segments, len(collections[-1]) if key is None else key)
                positions.yaml11_numbers.append(path)
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or event.tag is not None:
                return None
            if len(collections) == MAX_DEPTH:
                return None
            values += 1
            constructed = {} if kind is MappingStartEvent else []
            if collections:
                key = keys[-1]
                if key is _OPEN:
                    return None  # a key that is a list or a mapping
                if key is None:
                    segments.append(len(collections[-1]))
                    collections[-1].append(constructed)
                else:
                    segments.append(key)
                    collections[-1][key] = constructed
                    keys[-1] = _OPEN
            collections.append(constructed)
            keys.append(_OPEN if kind is MappingStartEvent else None)
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            constructed = collections.pop()
            keys.pop()
            if collections:
                segments.pop()
                continue
        else:
            return None  # an alias
        if collections:
            key = keys[-1]
            if key is None:
                collections[-1].append(constructed)
            else:
                collections[-1][key] = constructed
                keys[-1] = _OPEN
            continue
        # The document is done: it must be the only one.
        if values > MAX_NODES:
            return None
        if not isinstance(next_event(), DocumentEndEvent):
            return None
        if not isinstance(next_event(), StreamEndEvent):
            return None
        return constructed, positions


def _load_nodes(text: str) -> tuple[Any, Positions]:
    loader = _SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(exc, text) from None
        except yaml.YAMLError as exc:
            raise YamlLoadError(fact(Say.YAML_ERROR, detail=str(exc))) from None
        except RecursionError:
            raise YamlLoadError(fact(Say.YAML_TOO_DEEP, limit=MAX_DEPTH)) from None
        if node is None:
            raise YamlLoadError(fact(Say.FILE_EMPTY))
        _check_graph(node)
        positions = Positions(node)
        value = _build(loader, node, (), positions)
    finally:
        loader.dispose()
    return value, positions


def _syntax_error(exc: yaml.MarkedYAMLError, text: str) -> YamlLoadError:
    """A YAML syntax error in one sentence, at the problem's position."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    text_lines = text.splitlines()
    if 0 < line <= len(text_lines) and "\t" in text_lines[line - 1][:column]:
        return YamlLoadError(fact(Say.YAML_SYNTAX_TAB), line, column)
    what = exc.problem or str(exc)
    context = exc.context
    if context and what.startswith("but "):
        # "expected a single document in the stream, but found another document"
        return YamlLoadError(fact(Say.YAML_SYNTAX, detail=f"{context}, {what}"), line, column)
    if context and exc.context_mark and exc.context_mark.line + 1 != line:
        started = exc.context_mark.line + 1
        return YamlLoadError(
            fact(Say.YAML_SYNTAX_FROM, what=what, context=context, line=started), line, column
        )
    if context:
        what = f"{what} ({context})"
    return YamlLoadError(fact(Say.YAML_SYNTAX, detail=what), line, column)


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _show_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org") else tag


def _check_graph(root: Node) -> None:
    """Refuse unknown tags, deep nesting and documents whose alias-expanded size is too large.

    The expanded size and depth are computed over the node graph with memoisation, so a
    document with a handful of nested aliases that would expand to billions of values is
    measured and refused in microseconds instead of being expanded.
    """
    _check_tag(root)
    if isinstance(root, ScalarNode):
        return
    measured: dict[int, tuple[int, int]] = {}  # collection id -> (expanded size, depth)
    on_path: set[int] = set()
    # (collection, its children): children is None until the collection is first entered.
    stack: list[tuple[Node, list[Node] | None]] = [(root, None)]
    while stack:
        node, children = stack.pop()
        key = id(node)
        if children is not None:
            on_path.discard(key)
            size, height = 1, 1
            for child in children:
                if isinstance(child, ScalarNode):
                    size += 1
                else:
                    child_size, child_height = measured[id(child)]
                    size += child_size
                    height = max(height, child_height + 1)
            if size > MAX_NODES:
                raise YamlLoadError(fact(Say.YAML_TOO_MANY_VALUES, limit=MAX_NODES), *_mark(node))
            if height > MAX_DEPTH:
                raise YamlLoadError(fact(Say.YAML_ALIASES_TOO_DEEP, limit=MAX_DEPTH), *_mark(node))
            measured[key] = (size, height)
            continue
        if key in measured:
            continue
        if key in on_path:
            raise YamlLoadError(fact(Say.YAML_RECURSIVE_ALIAS), *_mark(node))
        children = _children(node)
        on_path.add(key)
        stack.append((node, children))
        for child in children:
            _check_tag(child)
            if not isinstance(child, ScalarNode) and id(child) not in measured:
                stack.append((child, None))


def _check_tag(node: Node) -> None:
    if node.tag not in _PLAIN_TAGS:
        raise YamlLoadError(fact(Say.YAML_TAG, tag=_show_tag(node.tag)), *_mark(node))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _pairs(node: MappingNode) -> tuple[list[tuple[Node, Node]], list[tuple[Node, Node]]]:
    """A mapping's merged-in pairs (``<<: *defaults``, earliest source last so that it wins)
    and its own pairs, which override them."""
    merged: list[tuple[Node, Node]] = []
    own: list[tuple[Node, Node]] = []
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE:
            own.append((key_node, value_node))
            continue
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        for source in reversed(sources):
            if not isinstance(source, MappingNode):
                raise YamlLoadError(fact(Say.YAML_MERGE_NOT_MAPPING), *_mark(source))
            inherited, source_own = _pairs(source)
            merged += inherited + source_own
    return merged, own


_NUMBERS = frozenset({_INT, _FLOAT})


def _build(loader: yaml.SafeLoader, node: Node, path: Path_, positions: Positions) -> Any:
    """Turn ``node`` into Python values, noting duplicate keys and surprising numbers."""
    if isinstance(node, ScalarNode):
        tag = node.tag
        # Timestamps become dates in PyYAML; a pack never wants a date object, so keep the
        # author's own spelling as text.
        if tag in _AS_TEXT:
            return node.value
        if tag in _NUMBERS and Mark(0, 0, node.value, tag).yaml11_number is not None:
            positions.yaml11_numbers.append(path)
        return loader.construct_object(node)
    if isinstance(node, SequenceNode):
        return [
            _build(loader, child, (*path, index), positions)
            for index, child in enumerate(node.value)
        ]
    if isinstance(node, MappingNode):
        result: dict[str, Any] = {}
        merged, own = _pairs(node)
        own_keys: set[str] = set()
        first_own = len(merged)
        for position, (key_node, value_node) in enumerate(merged + own):
            if not isinstance(key_node, ScalarNode):
                raise YamlLoadError(fact(Say.YAML_KEY_NOT_TEXT), *_mark(key_node))
            key = key_node.value if key_node.tag in _AS_TEXT else loader.construct_object(key_node)
            if not isinstance(key, str):
                # `No:` or `2024:` as a key (per-option feedback): keep the author's own word.
                key = str(key_node.value)
            if position >= first_own:
                if key in own_keys:
                    # Reported by validation with every other problem; the later value wins,
                    # as in PyYAML. Keys merged in with `<<` may be overridden freely.
                    positions.duplicate_keys.append(((*path, key), Mark(*_mark(key_node))))
                own_keys.add(key)
            result[key] = _build(loader, value_node, (*path, key), positions)
        return result
    raise YamlLoadError(fact(Say.YAML_NODE, node=type(node).__name__), *_mark(node))
