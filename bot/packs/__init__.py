"""Question packs: the YAML format, its safe loader and its validator (no Telegram, no I/O
beyond reading the pack and its article)."""

from bot.packs.model import (
    ChoiceItem,
    Item,
    NumberItem,
    Pack,
    PackSettings,
    ShortItem,
    TrueFalseItem,
    item_body,
    item_from_body,
    item_hash,
)
from bot.packs.validate import (
    ArticleError,
    PackReport,
    Problem,
    find_pack_files,
    summarize,
    validate_pack_bytes,
    validate_pack_file,
)

__all__ = [
    "ArticleError",
    "ChoiceItem",
    "Item",
    "NumberItem",
    "Pack",
    "PackReport",
    "PackSettings",
    "Problem",
    "ShortItem",
    "TrueFalseItem",
    "find_pack_files",
    "item_body",
    "item_from_body",
    "item_hash",
    "summarize",
    "validate_pack_bytes",
    "validate_pack_file",
]
