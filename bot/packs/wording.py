"""The pack tools' facts in words, in the reader's language.

Each :class:`~bot.packs.facts.Say` code has one English sentence here, marked for the message
catalogs (``N_``, or ``Nn_`` for a sentence with a plural); :func:`say` looks it up in the
reader's catalog and fills in the fact's values. Numbers keep the format given in the sentence
(``{size:,}``, ``{share:.0%}``) with the reader's separators (``4,103`` in English, ``4 103`` in
Ukrainian and Russian, ``4.103`` in Spanish). The author's own words (ids, quotes, keys) are
never translated. The bot (:mod:`bot.telegram.publishing`, :mod:`bot.telegram.drafts`) and the
``quizbot`` commands both say facts through here; :func:`english` is for logs and tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from string import Formatter

from bot.i18n import N_, Translator, translator
from bot.packs.facts import Fact, Say, Value

Template = str | tuple[str, str, str]
"""A sentence, or a sentence with a plural: (singular, plural, the name of the counted value)."""


def Nn_(singular: str, plural: str, counted: str = "n") -> tuple[str, str, str]:
    """Mark a sentence with a plural form for extraction; ``counted`` names the number."""
    return singular, plural, counted


TEMPLATES: dict[Say, Template] = {
    # Reading the file and its article
    Say.FILE_TOO_BIG: N_("the file is {size:,} bytes; a pack may be at most {limit:,} bytes"),
    Say.FILE_UNREADABLE: N_("cannot read the file: {reason}"),
    Say.FILE_UTF16: N_("the file is UTF-16 text; save it as UTF-8"),
    Say.FILE_NOT_UTF8: N_(
        "the file is not UTF-8 text (byte 0x{byte} at offset {offset}); save it as UTF-8"
    ),
    Say.FILE_EMPTY: N_("the file is empty"),
    Say.CONTROL_CHARACTER: N_("the control character U+{code} is not allowed in YAML; remove it"),
    # TRANSLATORS: {detail} is the YAML library's own explanation, in English.
    Say.YAML_ERROR: N_("YAML error: {detail}"),
    # TRANSLATORS: {detail} is the YAML library's own explanation, in English.
    Say.YAML_SYNTAX: N_("YAML syntax error: {detail}"),
    Say.YAML_SYNTAX_TAB: N_("YAML syntax error: a tab character; YAML indents with spaces only"),
    # TRANSLATORS: {what} and {context} are the YAML library's own words, in English.
    Say.YAML_SYNTAX_FROM: N_("YAML syntax error: {what} ({context} that starts on line {line})"),
    Say.YAML_TOO_DEEP: N_(
        "the document nests lists or mappings too deeply (a pack needs {limit} levels at "
        "most); refused"
    ),
    Say.YAML_TOO_MANY_VALUES: N_(
        "the document expands to more than {limit:,} values (aliases that multiply, a "
        "'billion laughs' file?); refused"
    ),
    Say.YAML_ALIASES_TOO_DEEP: N_(
        "the document nests lists or mappings more than {limit} levels deep (counting what "
        "aliases stand for); refused"
    ),
    Say.YAML_RECURSIVE_ALIAS: N_("a recursive alias refers to itself; refused"),
    Say.YAML_TAG: N_(
        "the tag {tag} is not allowed: packs are plain YAML (no Python or custom tags)"
    ),
    Say.YAML_KEY_NOT_TEXT: N_("a mapping key must be plain text"),
    Say.YAML_NODE: N_("unsupported YAML node {node}"),
    Say.YAML_MERGE_NOT_MAPPING: N_(
        "`<<` merges mappings only: give it an alias of a mapping (`<<: *defaults`)"
    ),
    Say.OCTAL_NUMBER: N_("the octal number {value}"),
    Say.BASE60_NUMBER: N_("the base-60 number {value}"),
    Say.ARTICLE_MISSING: N_("the article {name!r} does not exist (looked for {path})"),
    # TRANSLATORS: {reason} is the operating system's explanation.
    Say.ARTICLE_UNREADABLE: N_("the article {name!r} cannot be read: {reason}"),
    Say.ARTICLE_NOT_FILE: N_("the article {name!r} is not a file ({path})"),
    Say.ARTICLE_TOO_BIG: N_(
        "the article {name!r} is {size:,} bytes; at most {limit:,} are allowed"
    ),
    Say.ARTICLE_NOT_UTF8: N_(
        "the article {name!r} is not UTF-8 text (bad byte at offset {offset})"
    ),
    Say.ARTICLE_EMPTY: N_("the article {name!r} is empty"),
    Say.ARTICLE_NOT_SENT: N_(
        "I do not have the article {quoted}: send it to me as a .txt file named {key}"
    ),
    # The pack and its items
    Say.PACK_NOT_MAPPING: N_("a pack file must be a mapping with `pack`, `title`, `items`…"),
    Say.DUPLICATE_KEY: N_("the key {key!r} appears twice"),
    Say.TOO_MANY_ITEMS: N_("the pack has {count:,} items; at most {limit:,} are allowed"),
    Say.TITLE_TOO_LONG: N_("the title is {length:,} characters; at most {limit:,}"),
    Say.DESCRIPTION_TOO_LONG: N_("the description is {length:,} characters; at most {limit:,}"),
    Say.YAML11_OCTAL: N_(
        "YAML 1.1 reads {raw} as {reading}; drop the leading zero (or put it in quotes if you "
        "mean text)"
    ),
    Say.ITEM_NOT_MAPPING: N_("an item must be a mapping of keys such as `id`, `type`, `question`"),
    Say.DUPLICATE_ID: N_("duplicate item id {id!r} (first used on line {line})"),
    Say.MISSING_TYPE: N_("missing key 'type' (one of: {types})"),
    Say.UNKNOWN_TYPE: N_("unknown item type {type}; use one of: {types}"),
    Say.UNKNOWN_TYPE_GUESS: N_(
        "unknown item type {type} (did you mean {guess!r}?); use one of: {types}"
    ),
    Say.TOO_FEW_OPTIONS: N_("a choice needs at least two options; it has {count}"),
    Say.TOO_MANY_OPTIONS: N_("a choice may have at most {limit} options; it has {count}"),
    Say.ANSWER_NOT_AN_OPTION: N_("the answer {answer!r} is not among the options"),
    Say.ANSWER_NOT_AN_OPTION_GUESS: N_(
        "the answer {answer!r} is not among the options (did you mean {guess!r}?)"
    ),
    Say.DISTRACTOR_IS_ANSWER: N_("the distractor {distractor!r} is also an answer"),
    Say.ALL_OPTIONS_CORRECT: N_("every option is marked correct"),
    Say.FEEDBACK_NOT_AN_OPTION: N_("feedback for {option!r}, which is not one of the options"),
    Say.FEEDBACK_NOT_AN_OPTION_GUESS: N_(
        "feedback for {option!r}, which is not one of the options (did you mean {guess!r}?)"
    ),
    Say.POLL_TOO_LONG: N_(
        "too long for a native quiz poll: {reasons}; group games show it with buttons instead"
    ),
    Say.POLL_QUESTION_LONG: N_("the question is {length} characters (a poll allows {limit})"),
    Say.POLL_OPTIONS_LONG: Nn_(
        "{n} option over {limit} characters", "{n} options over {limit} characters"
    ),
    Say.POLL_TOO_MANY_OPTIONS: N_("{count} options (a poll allows {limit})"),
    Say.DUPLICATE_OPTION: N_("duplicate option {text!r}"),
    Say.DUPLICATE_ANSWER: N_("duplicate answer {text!r}"),
    Say.DUPLICATE_DISTRACTOR: N_("duplicate distractor {text!r}"),
    Say.DUPLICATE_ACCEPTED: N_("duplicate accepted answer {text!r}"),
    Say.ACCEPTS_ANYTHING: N_("{text!r} with credit {credit} accepts any answer"),
    Say.NO_CREDIT: N_("no accepted answer earns any credit"),
    Say.TOLERANCE_ACCEPTS_ZERO: N_("a tolerance of {tolerance} accepts 0 for the answer {answer}"),
    Say.ANSWER_MESSAGE_TOO_LONG: N_(
        "the question, options, explanation and quote need {needed:,} characters in one "
        "answer message; Telegram allows {limit:,}"
    ),
    Say.QUESTION_TOO_LONG: N_(
        "the question is {length:,} characters: more than a Telegram message holds ({limit:,}, "
        "with {kept} kept for the bot's own words)"
    ),
    Say.EXPLANATION_TOO_LONG: N_(
        "the explanation is {length:,} characters: more than a Telegram message holds "
        "({limit:,}, with {kept} kept for the bot's own words)"
    ),
    Say.SOURCE_TOO_LONG: N_(
        "the source quote is {length:,} characters: more than a Telegram message holds "
        "({limit:,}, with {kept} kept for the bot's own words)"
    ),
    Say.FEEDBACK_TOO_LONG: N_(
        "the feedback is {length:,} characters: more than a Telegram message holds "
        "({limit:,}, with {kept} kept for the bot's own words)"
    ),
    Say.ANSWER_TOO_LONG: N_(
        "the answer is {length:,} characters: more than a Telegram message holds ({limit:,}, "
        "with {kept} kept for the bot's own words)"
    ),
    Say.MISSING_SOURCE: N_(
        "missing key 'source': a quote from the article that supports the answer (only a pack "
        "without `article:` may leave it out)"
    ),
    Say.SOURCE_NOT_CHECKED: N_("the pack has no `article:`, so this quote is not checked"),
    Say.SOURCE_NOT_IN_ARTICLE: N_(
        "the source quote is not in the article; closest passage: {passage}"
    ),
    Say.PASSAGE: N_('"{passage}" ({score}% similar)'),
    Say.PASSAGE_NOT_SEARCHED: N_(
        "not searched after {limit} missing quotes (is `article` the right file?)"
    ),
    Say.PASSAGE_EMPTY_QUOTE: N_("(the quote is empty)"),
    Say.PASSAGE_NOTHING_SIMILAR: N_("(nothing similar)"),
    # What a value should be
    Say.YAML_READ_BOOLEAN: N_(
        'YAML read {raw!r} as the boolean {value}; write "{raw}" in quotes if you mean the word'
    ),
    Say.YAML11_READ_AS_NUMBER: N_(
        "`{name}` must be text; YAML 1.1 reads {raw} as {reading}: put it in quotes"
    ),
    Say.MUST_BE_ONE_OF_SHAPES: N_("`{name}` must be {expected}; got {got}"),
    Say.EXPECT_SOURCE: N_("a quote (text) or a list of quotes"),
    Say.EXPECT_ANSWER: N_("the correct option (text) or a list of correct options"),
    Say.EXPECT_ANSWERS: N_(
        "an accepted answer: text, or a mapping with `text`, `credit` and `feedback`"
    ),
    Say.EXPECT_TYPO_TOLERANCE: N_("a number of typos from 0 to 5, or 'auto'"),
    Say.EXPECT_TOLERANCE: N_("a number or a percentage such as '5%'"),
    Say.EXPECT_OTHER: N_("a different kind of value"),
    Say.MISSING_KEY: N_("missing key {key!r}"),
    Say.MISSING_VALUE: N_("missing value"),
    Say.MUST_BE_TEXT: N_("`{name}` must be text, got {got}"),
    Say.MUST_BE_TEXT_QUOTE: N_("`{name}` must be text, got {got}; put it in quotes"),
    Say.MUST_BE_LIST: N_("`{name}` must be a list, got {got}"),
    Say.MUST_BE_MAPPING: N_("`{name}` must be a mapping of keys, got {got}"),
    Say.MUST_BE_BOOLEAN: N_("`{name}` must be true or false, got {got}"),
    Say.MUST_BE_BOOLEAN_UNQUOTE: N_(
        "`{name}` must be true or false, got {got}; write it without quotes"
    ),
    Say.MUST_BE_WHOLE_NUMBER: N_("`{name}` must be a whole number, got {got}"),
    Say.MUST_BE_NUMBER: N_("`{name}` must be a number, got {got}"),
    Say.USE_ONE_OF: N_("`{name}` is {got}; use one of: {expected}"),
    Say.NOT_AN_ITEM_ID: N_(
        "{value!r} is not an item id: letters, digits, '-', '_' and '.', at most 64 characters"
    ),
    Say.NOT_A_SLUG: N_(
        "{value!r} is not a slug: lower-case letters, digits and '-', at most 48 characters"
    ),
    Say.NOT_A_TAG: N_("{value!r} is not a tag: lower-case letters, digits and '-'"),
    Say.NOT_A_LANGUAGE: N_("{value!r} is not a language code such as 'en' or 'pt-BR'"),
    Say.BAD_CHARACTERS: N_("{value!r} does not match the allowed characters"),
    Say.NEEDS_ENTRIES: Nn_(
        "`{name}` needs at least {n} entry", "`{name}` needs at least {n} entries"
    ),
    Say.AT_LEAST: N_("`{name}` must be at least {bound}, got {got}"),
    Say.AT_MOST: N_("`{name}` must be at most {bound}, got {got}"),
    Say.MORE_THAN: N_("`{name}` must be more than {bound}, got {got}"),
    Say.LESS_THAN: N_("`{name}` must be less than {bound}, got {got}"),
    Say.EMPTY_TEXT: N_("`{name}` is empty"),
    # TRANSLATORS: {detail} is the data library's own explanation, in English.
    Say.INVALID_VALUE: N_("the value is not valid: {detail}"),
    Say.UNKNOWN_LANGUAGE: N_(
        "the grader does not know the language {language!r}; use one of {known}"
    ),
    Say.OPTIONS_BOTH: N_(
        "give either `distractors` (shuffled with the answer) or `options` (a fixed list that "
        "contains the answer), not both"
    ),
    Say.OPTIONS_NEITHER: N_(
        "missing key 'distractors' (shuffled with the answer) or 'options' (a fixed list that "
        "contains the answer)"
    ),
    Say.CREDIT_BOOLEAN: N_("credit must be a number from 0 to 1, not a boolean"),
    Say.ANSWER_NOT_A_NUMBER: N_(
        "the answer must be a number written without separators (11000, not '11,000')"
    ),
    Say.ANSWER_NOT_FINITE: N_("the answer must be a finite number"),
    Say.TOLERANCE_SHAPE: N_("tolerance must be a number or a percentage such as '5%'"),
    Say.TOLERANCE_NEGATIVE: N_("tolerance is below zero"),
    Say.TOLERANCE_NOT_FINITE: N_("tolerance must be a finite number or a percentage such as '5%'"),
    Say.UNKNOWN_KEY: N_("unknown key {key!r}"),
    Say.UNKNOWN_KEY_GUESS: N_("unknown key {key!r} (did you mean {guess!r}?)"),
    Say.UNKNOWN_KEY_OTHER_TYPES: N_(
        "unknown key {key!r}: {type} items do not use it (only {types})"
    ),
    # How a value was given
    Say.GOT_NOTHING: N_("nothing (an empty value)"),
    Say.GOT_BOOLEAN: N_("the boolean {value}"),
    Say.GOT_NUMBER: N_("the number {value}"),
    Say.GOT_LIST: Nn_("a list of {n}", "a list of {n}"),
    Say.GOT_MAPPING: N_("a mapping"),
    # Labels and summaries
    # TRANSLATORS: where a problem is about the whole pack, not one item.
    Say.PACK_LABEL: N_("pack"),
    # TRANSLATORS: an item without an id, by its place in the file.
    Say.ITEM_NUMBER: N_("item #{number}"),
    Say.WARNING: N_("warning: {message}"),
    Say.SUMMARY_ITEMS: Nn_("{n} item", "{n} items"),
    # TRANSLATORS: item types as written in pack files (choice, truefalse, short, number).
    Say.SUMMARY_TYPES: N_("types: {counts}"),
    Say.SUMMARY_SKILLS: N_("skills: {counts}"),
    Say.SUMMARY_DIFFICULTY: N_("difficulty: {counts}"),
    Say.SUMMARY_NONE: N_("none"),
    Say.QUALITY_FLAGGED: Nn_(
        "quality: {flagged} of {n} item ({share:.0%}) with a warning",
        "quality: {flagged} of {n} items ({share:.0%}) with a warning",
    ),
    Say.QUALITY_LONGEST: N_(
        "correct option longest in {longest} of {choices} single-answer choices "
        "(chance {chance:.1f})"
    ),
    Say.QUALITY_FOREIGN: N_("{foreign} of {distractors} distractors not from the article"),
    Say.QUALITY_TRUEFALSE: N_("true/false {true} true, {false} false"),
    Say.QUALITY_SIGNALS: N_(
        "true/false wording guesses {guessed} of {signalled} hedged or absolute statements"
    ),
    Say.QUALITY_FIXED: N_("fixed-order correct answers in one position {top} of {fixed}"),
    Say.QUALITY_GIVEAWAYS: Nn_("{n} item giving another away", "{n} items giving another away"),
    Say.QUALITY_ECHOES: Nn_(
        "{n} key echoed in another question", "{n} keys echoed in another question"
    ),
    Say.QUALITY_UNCHECKED: N_("items not checked against each other (over {limit:,})"),
    # The drafter
    Say.DRAFT_STATS: N_("{candidates} {sentences} {paragraphs}; {figures}; names: {kinds}"),
    # TRANSLATORS: {types} lists item types as written in pack files, e.g. "number 6, short 7".
    Say.DRAFT_CANDIDATES: Nn_("{n} candidate item ({types})", "{n} candidate items ({types})"),
    Say.DRAFT_SENTENCES: Nn_("from {n} sentence", "from {n} sentences"),
    Say.DRAFT_PARAGRAPHS: Nn_("in {n} paragraph", "in {n} paragraphs"),
    Say.DRAFT_FIGURES: Nn_("{n} figure", "{n} figures"),
    Say.DRAFT_NOTHING: N_(
        "no figures or names found in the article: nothing to draft from (is it the right file?)"
    ),
    # The converters (other tools' question files)
    Say.C_UNKNOWN_FILE: N_("unknown kind of file {suffix!r}; use {formats}"),
    Say.C_NO_ENDING: N_("unknown kind of file '(no ending)'; use {formats}"),
    Say.C_TOO_BIG: N_("the file is {size:,} bytes; at most {limit:,}"),
    Say.C_NOTHING: N_("no question could be converted"),
    Say.C_NOT_UTF8: N_("not UTF-8 text (byte {offset})"),
    # TRANSLATORS: a question left out: its name, its type in the other tool, and why.
    Say.C_SKIPPED: N_("{name} ({kind}): {why}"),
    Say.C_NO_TYPE: N_("no type"),
    Say.C_QUESTION_NUMBER: N_("question {number}"),
    Say.C_AIKEN_QUESTION_FIRST: N_("expected a question before options and ANSWER:"),
    Say.C_AIKEN_TWO_OPTIONS: N_("a question needs at least two options (A., B.)"),
    Say.C_AIKEN_ANSWER_NOT_OPTION: N_("ANSWER: {letter} is not one of the options {letters}"),
    Say.C_AIKEN_ANSWER_EMPTY: N_("ANSWER: (nothing) is not one of the options {letters}"),
    Say.C_AIKEN_ORDER: N_("option {letter} where {expected} was expected"),
    Say.C_AIKEN_EXPECTED_OPTION: N_("expected an option (A. text) or ANSWER: after options"),
    Say.C_AIKEN_NO_ANSWER: N_("this question has no ANSWER: line"),
    Say.C_XML_ENTITIES: N_(
        "refused: the file declares XML entities or refers to external ones ({kind}); Moodle "
        "never writes those, and they can make a parser expand the file without limit or read "
        "other files"
    ),
    # TRANSLATORS: {detail} is the XML parser's own explanation, in English.
    Say.C_XML_MALFORMED: N_("not well-formed XML: {detail}"),
    Say.C_XML_ROOT: N_("a Moodle XML file starts with <quiz>, not <{tag}>"),
    Say.C_WHY_DESCRIPTION: N_("a description, not a question"),
    Say.C_WHY_UNSUPPORTED: N_("not supported"),
    Say.C_WHY_EMPTY_TEXT: N_("the question text is empty"),
    Say.C_WHY_BAD_FRACTION: N_("an answer has a fraction that is not a number"),
    Say.C_WHY_EMPTY_ANSWER: N_("an answer is empty (an image?)"),
    Say.C_WHY_FULL_MARKS: Nn_(
        "{n} answer has full marks; one must", "{n} answers have full marks; one must"
    ),
    Say.C_WHY_NO_MARKS: N_("no answer earns marks"),
    Say.C_WHY_NO_TRUEFALSE: N_("no answer 'true' or 'false' with full marks"),
    Say.C_WHY_BAD_ANSWER: N_("an answer is empty or has a fraction that is not a number"),
    Say.C_WHY_NO_ANSWERS: N_("no answers"),
    Say.C_WHY_NO_FULL_MARKS: N_("no answer with full marks"),
    Say.C_WHY_NOT_A_NUMBER: N_("the answer or its tolerance is not a number"),
    # TRANSLATORS: a GIFT question left out: its title (or first words), and why.
    Say.G_SKIPPED: N_("{name}: {why}"),
    Say.G_WHY_DESCRIPTION: N_("no answer block, a description"),
    Say.G_WHY_ESSAY: N_("an essay (no answers)"),
    Say.G_WHY_MATCHING: N_("a matching question"),
    Say.G_TITLE_OPEN: N_("the title is not closed with '::'"),
    Say.G_CLOSING_ALONE: N_("'}}' without an opening '{{' (write \\}} for a brace)"),
    Say.G_BLOCK_OPEN: N_("the answer block is not closed with '}}'"),
    Say.G_NESTED: N_("'{{' inside an answer block (write \\{{ for a brace)"),
    Say.G_SECOND_BLOCK: N_("a second answer block in one question (leave a blank line)"),
    Say.G_NO_TEXT: N_("the question has no text before its answer block"),
    Say.G_ANSWER_MARK: N_("each answer must start with '=' (right) or '~' (wrong)"),
    Say.G_EMPTY_ANSWER: N_("an empty answer"),
    Say.G_NO_RIGHT: N_("no right answer: mark one with '=' (or weights with '~%50%')"),
    Say.G_AFTER_TRUEFALSE: N_("unexpected text after T/F (feedback starts with #)"),
    Say.G_NOT_A_NUMBER: N_("{text!r} is not a number"),
    Say.G_NO_FULL_MARKS: N_("no numeric answer with full marks"),
    Say.G_RANGE: N_("the range {range} ends below its start"),
    Say.S_TOO_MANY_ROWS: N_("more than {limit:,} rows of questions"),
    # TRANSLATORS: {detail} is the CSV reader's own explanation, in English.
    Say.S_BAD_CSV: N_("not a readable CSV file: {detail}"),
    # TRANSLATORS: {detail} is the workbook reader's own explanation, in English.
    Say.S_BAD_XLSX: N_("not a readable .xlsx workbook: {detail}"),
    Say.S_EMPTY: N_("the sheet is empty"),
    Say.S_UNKNOWN_COLUMN: N_("unknown column {name!r}; use: {columns}"),
    Say.S_COLUMN_TWICE: N_("column {name!r} twice"),
    Say.S_NO_COLUMN: N_("the header row has no {name!r} column"),
    Say.S_NO_QUESTION: N_("the question is empty"),
    Say.S_NO_ANSWER: N_("the answer is empty"),
    Say.S_NOT_TRUEFALSE: N_("a true-false answer is true or false, not {answer!r}"),
    Say.S_NOT_A_NUMBER: N_("a number item's answer must be a number, not {answer!r}"),
    Say.S_BAD_TOLERANCE: N_("the tolerance {tolerance!r} is not a number or 5%"),
    Say.S_UNKNOWN_TYPE: N_("unknown type {type!r}; use choice, truefalse, short or number"),
    # The exporters
    Say.E_GIFT_UNIT: N_("{item}: the unit {unit!r} (GIFT has no units)"),
    Say.E_AIKEN_SEVERAL: N_(
        "{item} ({type}): Aiken holds one-answer choices only (several right options)"
    ),
    Say.E_AIKEN_TYPED: N_("{item} ({type}): Aiken holds one-answer choices only (typed answers)"),
    Say.E_AIKEN_OPTIONS: N_("{item}: more than 26 options"),
    # The item-quality checker's warnings
    Say.Q_FOREIGN_DISTRACTORS: Nn_(
        "{foreign} of {n} distractor ({share:.0%}) share no word with the article, so a reader "
        "rules them out at once: {listed}; take distractors from the article (other people, "
        "places, figures and claims it mentions)",
        "{foreign} of {n} distractors ({share:.0%}) share no word with the article, so a reader "
        "rules them out at once: {listed}; take distractors from the article (other people, "
        "places, figures and claims it mentions)",
    ),
    Say.Q_FOREIGN_DISTRACTORS_MORE: Nn_(
        "{foreign} of {n} distractor ({share:.0%}) share no word with the article, so a reader "
        "rules them out at once: {listed} and {more} more; take distractors from the article "
        "(other people, places, figures and claims it mentions)",
        "{foreign} of {n} distractors ({share:.0%}) share no word with the article, so a reader "
        "rules them out at once: {listed} and {more} more; take distractors from the article "
        "(other people, places, figures and claims it mentions)",
    ),
    Say.Q_POSITION_BIAS: N_(
        "the correct answer is option {position} in {count} of {fixed} items whose options are "
        "not shuffled; spread the correct answers over the positions (or let the options "
        "shuffle)"
    ),
    Say.Q_OPTION_LONGEST: N_(
        "the correct option is much the longest ({length} characters, the longest distractor "
        "{other}): test-takers pick the longest option; make the distractors as long and as "
        "detailed, or the answer shorter"
    ),
    Say.Q_OPTION_SHORTEST: N_(
        "the correct option is much the shortest ({length} characters, the shortest distractor "
        "{other}): an option unlike the others stands out; make the options alike in length"
    ),
    Say.Q_CLANG: N_(
        "the stem and the correct option share {words}, which no distractor has: a guesser "
        "matches the words; reword the stem or the option, or use the word in a distractor too"
    ),
    Say.Q_TITLE_IN_KEY: N_(
        "the correct option repeats the pack title's {words}, which no distractor has: the "
        "title gives it away; reword the option or use the word in a distractor too"
    ),
    Say.Q_ABOVE_OPTION: N_(
        "{option} is an 'all/none of the above'-style option: options are shuffled, and it "
        "tests logic rather than the article; write a real option"
    ),
    Say.Q_NEGATIVE_STEM: N_(
        "the stem is negative ({word}) and easy to misread: ask the question positively, or "
        "write the negative in capitals (NOT, EXCEPT)"
    ),
    Say.Q_ABSOLUTE_DISTRACTOR: N_(
        "the distractor says {words} and no correct option does: absolutes mark an option as "
        "wrong; qualify it or use an absolute in the correct option too"
    ),
    Say.Q_A_AN: N_(
        "the stem ends in {article} but {option} does not fit it: grammar rules the option "
        "out; end the stem before the article, or put 'a'/'an' in each option"
    ),
    Say.Q_NEAR_DUPLICATE: N_(
        "{option} and {other} say nearly the same: a near duplicate is either a second right "
        "answer or easy to rule out; make each option clearly different"
    ),
    Say.Q_ABSOLUTE_FALSE: N_(
        "a false statement with {words}, and no true statement in the pack is absolute: "
        "absolute statements are guessed false; make it false by a detail of the article "
        "instead, or word some true statements as strongly"
    ),
    Say.Q_HEDGED_TRUE: N_(
        "a true statement with {words}, and no false statement in the pack is hedged: hedged "
        "statements are guessed true; state the fact plainly, or hedge some false statements "
        "too"
    ),
    Say.Q_CUES_CLASSIC: Nn_(
        "in {count} of {n} hedged or absolute true/false statement the wording gives the "
        "answer (hedged true, absolute false): a guesser who spots the pattern beats chance; "
        "use hedges and absolutes on both sides of the key",
        "in {count} of {n} hedged or absolute true/false statements the wording gives the "
        "answer (hedged true, absolute false): a guesser who spots the pattern beats chance; "
        "use hedges and absolutes on both sides of the key",
    ),
    Say.Q_CUES_REVERSE: Nn_(
        "in {count} of {n} hedged or absolute true/false statement the wording gives the "
        "answer (absolute true, hedged false): a guesser who spots the pattern beats chance; "
        "use hedges and absolutes on both sides of the key",
        "in {count} of {n} hedged or absolute true/false statements the wording gives the "
        "answer (absolute true, hedged false): a guesser who spots the pattern beats chance; "
        "use hedges and absolutes on both sides of the key",
    ),
    Say.Q_ACCEPTED_IN_QUESTION: N_(
        "the accepted answer {answer} is in the question itself: reword the question so it "
        "does not contain the answer"
    ),
    Say.Q_NUMBER_IN_QUESTION: N_(
        "the answer {answer} is in the question itself: reword the question so it does not "
        "contain the answer"
    ),
    Say.Q_LONGEST_SHARE: Nn_(
        "the correct option is the longest in {observed} of {n} single-answer choice (chance "
        "gives {chance:.1f}; this many or more has a {tail:.1%} chance): 'pick the longest' "
        "beats chance; shorten some answers or lengthen their distractors",
        "the correct option is the longest in {observed} of {n} single-answer choices (chance "
        "gives {chance:.1f}; this many or more has a {tail:.1%} chance): 'pick the longest' "
        "beats chance; shorten some answers or lengthen their distractors",
    ),
    Say.Q_MOSTLY_TRUE: Nn_(
        "{count} of {n} true/false item are true: a guesser who always answers 'true' scores "
        "high; balance the true and false statements",
        "{count} of {n} true/false items are true: a guesser who always answers 'true' scores "
        "high; balance the true and false statements",
    ),
    Say.Q_MOSTLY_FALSE: Nn_(
        "{count} of {n} true/false item are false: a guesser who always answers 'false' scores "
        "high; balance the true and false statements",
        "{count} of {n} true/false items are false: a guesser who always answers 'false' "
        "scores high; balance the true and false statements",
    ),
    Say.Q_GIVES_AWAY_QUESTION: N_(
        "its question states {answer}, the answer of item {item}: reword one of them (or test "
        "a different detail)"
    ),
    Say.Q_GIVES_AWAY_FEEDBACK: N_(
        "its explanation or quote states {answer}, the answer of item {item}: reword one of "
        "them (or test a different detail)"
    ),
    Say.Q_KEY_ECHO: N_(
        "the answer {answer} shares a phrase ({phrase}) with the question or options of item "
        "{item}: a taker copies the answer from there; reword one of them"
    ),
    Say.Q_KEY_ECHO_CHOICE: N_(
        "the answer {answer} shares a phrase ({phrase}) with the question or options of item "
        "{item}, and no distractor shares one with another item: a guesser picks the option "
        "the quiz repeats; reword the answer or that item, or give a distractor words from "
        "another item too"
    ),
}

# The reader's separators for numbers, from English's "," (thousands) and "." (decimals).
_SEPARATORS = {
    "uk": str.maketrans({",": "\u00a0", ".": ","}),
    "ru": str.maketrans({",": "\u00a0", ".": ","}),
    "es": str.maketrans({",": ".", ".": ","}),
}
_FORMATTER = Formatter()


def say(t: Translator, fact: Fact) -> str:
    """``fact`` in the reader's language."""
    template = TEMPLATES[fact.code]
    values = fact.values
    if isinstance(template, tuple):
        singular, plural, counted = template
        count = values[counted]
        text = t.catalog.ngettext(singular, plural, int(count) if isinstance(count, int) else 2)
    else:
        text = t.catalog.gettext(template)
    return _fill(t, text, values)


def say_all(t: Translator, facts: Iterable[Fact], separator: str) -> str:
    return separator.join(say(t, f) for f in facts)


def english(fact: Fact) -> str:
    """``fact`` in English, for logs and tests."""
    return say(translator("en"), fact)


def _fill(t: Translator, text: str, values: dict[str, Value]) -> str:
    out: list[str] = []
    for literal, name, spec, conversion in _FORMATTER.parse(text):
        out.append(literal)
        if name is None:
            continue
        value = values[name]
        if isinstance(value, Fact):
            shown = say(t, value)
        elif isinstance(value, tuple):
            shown = say_all(t, value, "; ")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            shown = format(value, spec or "").translate(_SEPARATORS.get(t.language, {}))
        elif conversion == "r":
            shown = repr(value)
        else:
            shown = format(value, spec or "")
        out.append(shown)
    return "".join(out)
