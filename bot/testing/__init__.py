"""Test support: an offline Bot API for the tests and ``quizbot bench``; never imported by
the bot itself."""
