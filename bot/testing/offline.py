"""An offline Bot API: a ``telegram.request.BaseRequest`` that answers every call locally.

The whole python-telegram-bot stack runs on top of it (serialising requests, parsing
responses into ``Message`` objects, raising ``Forbidden``), only the network is missing. The
tests and ``quizbot bench`` use it; every call is recorded in :attr:`OfflineRequest.calls`.
:class:`UpdateFactory` builds the ``Update`` JSON that Telegram would send.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_ID = 7_000_000_001
BOT_USERNAME = "article_quiz_bot"


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    result: Any = None
    file_names: dict[str, str] = field(default_factory=dict)
    """The file name each uploaded file was sent with (``document`` -> ``pack.yaml``)."""


class OfflineRequest(BaseRequest):
    """Answers Bot API calls with plausible results and records them.

    ``files`` maps a ``file_path`` to the bytes a download returns; ``documents`` maps a
    ``file_id`` to its ``(file_path, size)`` for ``getFile``. ``failures`` maps a method name to
    ``(status, description)`` to make the next calls of that method fail (e.g. 403 for a user
    who blocked the bot); ``refuse`` holds functions of ``(method, params)`` that return such a
    ``(status, description)`` to fail only the calls they pick. ``administrators`` lists, per
    chat id, the user ids that ``getChatMember`` reports as administrators. With
    ``record=False`` nothing is kept, for long benchmark runs.
    """

    def __init__(self, record: bool = True) -> None:
        self.calls: list[ApiCall] = []
        self.record = record
        self.files: dict[str, bytes] = {}
        self.documents: dict[str, tuple[str, int]] = {}
        self.failures: dict[str, tuple[int, str]] = {}
        self.refuse: list[Callable[[str, dict[str, Any]], tuple[int, str] | None]] = []
        self.administrators: dict[int, set[int]] = {}
        self._message_ids = itertools.count(1000)
        self._poll_ids = itertools.count(5_000_000)

    # ----------------------------------------------------------------- BaseRequest

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:
            path = url.split("/file/bot", 1)[1].split("/", 1)[1]
            if path in self.files:
                return 200, self.files[path]
            return 404, b"Not Found"
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        call = None
        if self.record:
            files: dict[str, bytes] = {}
            file_names: dict[str, str] = {}
            if request_data is not None:
                for name, part in request_data.multipart_data.items():
                    content = part[1]
                    files[name] = content if isinstance(content, bytes) else content.read()
                    file_names[name] = str(part[0])
            call = ApiCall(api_method, params, files, file_names=file_names)
            self.calls.append(call)
        failure = self.failures.get(api_method)
        for rule in self.refuse:
            failure = failure or rule(api_method, params)
        if failure is not None:
            status, description = failure
            body = {"ok": False, "error_code": status, "description": description}
            return status, json.dumps(body).encode()
        result = self._result(api_method, params)
        if call is not None:
            call.result = result
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # ----------------------------------------------------------------- results

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Article Quiz",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    @staticmethod
    def _chat(chat_id: Any) -> dict[str, Any]:
        number = int(chat_id)
        if number < 0:
            return {"id": number, "type": "supergroup", "title": "Class"}
        return {"id": number, "type": "private", "first_name": "Student"}

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": int(params.get("message_id") or next(self._message_ids)),
            "date": int(time.time()),
            "chat": self._chat(params.get("chat_id", 1)),
            "from": self._bot_user(),
        }
        if "reply_markup" in params:
            markup = params["reply_markup"]
            markup = json.loads(markup) if isinstance(markup, str) else markup
            if "inline_keyboard" in markup:  # as Telegram: a message carries inline ones only
                message["reply_markup"] = markup
        message.update(extra)
        return message

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return self._bot_user()
        if method in ("sendMessage", "editMessageText"):
            return self._message(params, text=params.get("text", ""))
        if method == "editMessageReplyMarkup":
            return self._message(params)
        if method == "sendPoll":
            return self._message(params, poll=self._poll(params))
        if method == "stopPoll":
            return self._poll(params, closed=True)
        if method == "sendDocument":
            return self._message(
                params,
                document={"file_id": "doc", "file_unique_id": "doc", "file_name": "file"},
            )
        if method == "sendPhoto":
            photo = {"file_id": "photo", "file_unique_id": "photo", "width": 800, "height": 600}
            return self._message(params, photo=[photo])
        if method == "getFile":
            file_id = str(params.get("file_id"))
            path, size = self.documents.get(file_id, (f"documents/{file_id}", 0))
            return {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_size": size,
                "file_path": path,
            }
        if method == "getChatMember":
            user_id = int(params.get("user_id", 0))
            chat_id = int(params.get("chat_id", 0))
            admin = user_id in self.administrators.get(chat_id, set())
            user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
            if admin:
                return {"status": "administrator", "user": user, **_ADMIN_RIGHTS}
            return {"status": "member", "user": user}
        return True

    def _poll(self, params: dict[str, Any], closed: bool = False) -> dict[str, Any]:
        options = params.get("options", [])
        if isinstance(options, str):
            options = json.loads(options)
        texts = [o["text"] if isinstance(o, dict) else str(o) for o in options]
        poll: dict[str, Any] = {
            "id": str(next(self._poll_ids)),
            "question": params.get("question", "?"),
            "options": [
                {"text": t, "voter_count": 0, "persistent_id": str(n)} for n, t in enumerate(texts)
            ],
            "total_voter_count": 0,
            "is_closed": closed,
            "is_anonymous": bool(params.get("is_anonymous", False)),
            "type": params.get("type", "quiz"),
            "allows_multiple_answers": bool(params.get("allows_multiple_answers", False)),
            "allows_revoting": False,
            "members_only": False,
        }
        if "correct_option_ids" in params:
            poll["correct_option_ids"] = params["correct_option_ids"]
        return poll

    # ----------------------------------------------------------------- helpers for tests

    def sent(self, method: str | None = None) -> list[ApiCall]:
        return [c for c in self.calls if method is None or c.method == method]

    def last(self, method: str) -> ApiCall:
        calls = self.sent(method)
        if not calls:
            raise AssertionError(f"no {method} call; calls were {[c.method for c in self.calls]}")
        return calls[-1]

    def clear(self) -> None:
        self.calls.clear()


_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
}


class UpdateFactory:
    """Builds the ``Update`` JSON Telegram sends for messages, button presses and poll
    answers."""

    def __init__(self) -> None:
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)

    @staticmethod
    def user(
        user_id: int,
        first_name: str = "Student",
        username: str | None = None,
        last_name: str | None = None,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if last_name:
            user["last_name"] = last_name
        return user

    @staticmethod
    def chat(chat_id: int, title: str = "Class") -> dict[str, Any]:
        if chat_id < 0:
            return {"id": chat_id, "type": "supergroup", "title": title}
        return {"id": chat_id, "type": "private", "first_name": "Student"}

    def message(
        self,
        user: dict[str, Any],
        text: str | None,
        chat_id: int | None = None,
        reply_to: int | None = None,
        document: dict[str, Any] | None = None,
        location: tuple[float, float] | None = None,
    ) -> dict[str, Any]:
        chat_id = user["id"] if chat_id is None else chat_id
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": user,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if document is not None:
            message["document"] = document
        if location is not None:
            message["location"] = {"latitude": location[0], "longitude": location[1]}
        if reply_to is not None:
            message["reply_to_message"] = {
                "message_id": reply_to,
                "date": int(time.time()),
                "chat": self.chat(chat_id),
                "from": {
                    "id": BOT_ID,
                    "is_bot": True,
                    "first_name": "Article Quiz",
                    "username": BOT_USERNAME,
                },
                "text": "question",
            }
        return {"update_id": next(self._update_ids), "message": message}

    def callback(
        self,
        user: dict[str, Any],
        data: str,
        message_id: int = 1,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        chat_id = user["id"] if chat_id is None else chat_id
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": str(next(self._callback_ids)),
                "from": user,
                "chat_instance": str(chat_id),
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": self.chat(chat_id),
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "Article Quiz"},
                    "text": "question",
                },
            },
        }

    def poll_answer(
        self, user: dict[str, Any], poll_id: str, option_ids: list[int]
    ) -> dict[str, Any]:
        return {
            "update_id": next(self._update_ids),
            "poll_answer": {
                "poll_id": poll_id,
                "user": user,
                "option_ids": option_ids,
                "option_persistent_ids": [str(i) for i in option_ids],
            },
        }

    def my_chat_member(self, user: dict[str, Any], chat_id: int, status: str) -> dict[str, Any]:
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "Article Quiz"}
        return {
            "update_id": next(self._update_ids),
            "my_chat_member": {
                "chat": self.chat(chat_id),
                "from": user,
                "date": int(time.time()),
                "old_chat_member": {"status": "member", "user": bot},
                "new_chat_member": {"status": status, "user": bot, "until_date": 0}
                if status == "kicked"
                else {"status": status, "user": bot},
            },
        }
