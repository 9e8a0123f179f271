"""quizbot: a Telegram quiz and comprehension-training bot built on YAML question packs."""

__version__ = "0.1.0"
