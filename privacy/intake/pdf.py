"""PDFs are parsed and rendered in a child process (pdf_worker.py) with CPU-time and memory
limits: PDF parsers have a long record of security fixes, and a hostile file must cost at most
that child, never the web worker."""

import json
import logging
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

WORKER = Path(__file__).with_name("pdf_worker.py")
PREVIEW_MAX_SIDE = 1600

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PdfResult:
    ok: bool
    reason: str = ""
    pages: int = 0
    text: str = ""
    previews: tuple[bytes, ...] = ()


def _limits(cpu_seconds: int, memory_bytes: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # it writes no file

    return apply


def inspect_pdf(data: bytes, *, max_pages: int | None = None) -> PdfResult:
    """Check and render `data` in a limited child. Never raises for a bad file: a refusal comes
    back as PdfResult(ok=False, reason=...) ("too_complex" when the child ran out of time or
    memory or died)."""
    cpu = settings.INTAKE_PDF_CPU_SECONDS
    memory = settings.INTAKE_PDF_MEMORY_MB * 1024 * 1024
    pages = max_pages or settings.INTAKE_PDF_MAX_PAGES
    try:
        completed = subprocess.run(
            [sys.executable, "-I", str(WORKER), str(pages), str(PREVIEW_MAX_SIDE)],
            input=data,
            capture_output=True,
            timeout=cpu * 3 + 5,  # wall clock: a child blocked without using CPU
            preexec_fn=_limits(cpu, memory),
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            cwd="/",
            check=False,
        )
    except subprocess.TimeoutExpired:
        logger.warning("pdf worker timed out")
        return PdfResult(ok=False, reason="too_complex")
    if completed.returncode != 0:
        logger.warning("pdf worker ended with %s", completed.returncode)
        return PdfResult(ok=False, reason="too_complex")
    head, _, rest = completed.stdout.partition(b"\n")
    try:
        header = json.loads(head)
    except ValueError:
        return PdfResult(ok=False, reason="too_complex")
    if not header.get("ok"):
        return PdfResult(ok=False, reason=str(header.get("reason") or "broken"))
    previews, offset = [], 0
    for size in header["sizes"]:
        previews.append(rest[offset : offset + size])
        offset += size
    if offset != len(rest):
        return PdfResult(ok=False, reason="too_complex")
    return PdfResult(
        ok=True, pages=int(header["pages"]), text=header["text"], previews=tuple(previews)
    )
