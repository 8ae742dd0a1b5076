"""The development mail viewer at /dev/mail/: reads what EmlFileBackend wrote. Only routed while
DEBUG is on (see ipmart/urls.py)."""

import email
import email.policy
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.shortcuts import render

_NAME = re.compile(r"^[0-9T]+-[0-9a-f]{8}\.eml$")


@dataclass
class StoredMail:
    name: str
    subject: str
    to: str
    sender: str
    date: str
    headers: list[tuple[str, str]]
    text: str
    html: str | None


def _read(path: Path) -> StoredMail:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return StoredMail(
        name=path.name,
        subject=str(message["Subject"] or ""),
        to=str(message["To"] or ""),
        sender=str(message["From"] or ""),
        date=str(message["Date"] or ""),
        headers=[(k, str(v)) for k, v in message.items()],
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else None,
    )


def _folder() -> Path:
    return Path(settings.EMAIL_FILE_PATH)


def mail_list(request):
    files = sorted(_folder().glob("*.eml"), reverse=True)[:200]
    return render(request, "dev/mail_list.html", {"mails": [_read(p) for p in files]})


def mail_detail(request, name: str):
    path = _folder() / name
    if not _NAME.match(name) or not path.is_file():
        raise Http404("No such message")
    return render(request, "dev/mail_detail.html", {"mail": _read(path)})
