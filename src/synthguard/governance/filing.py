"""Filing numbers and the link to the public record (Deep Synthesis Provisions Art. 19).

Configured once (``Settings.filing_number`` / ``filing_url`` as the default, the console's filing
page to change it: each change is a new row, so the history stays), and shown on every console and
public page and in an ``X-Filing-Number`` response header. HTTP header values are Latin-1, so the
header carries the number percent-encoded as UTF-8 (``网信算备`` becomes ``%E7%BD%91...``),
decodable with any URL decoder. Formats as observed (regulation.md 9.4): algorithm filing
``网信算备`` + 21 digits + ``号``; ICP ``…ICP备…号``; public security ``…公网安备`` + 14 digits + ``号``.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from urllib.parse import quote

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from synthguard.errors import InvalidField
from synthguard.governance._common import Actor, aware, text_field
from synthguard.governance.audit import AuditTrail
from synthguard.store.models import GovFiling

ALGORITHM_RE = re.compile(r"^网信算备\d{21}号$")
PSB_RE = re.compile(r"^.{1,4}公网安备\d{14}号$")
ICP_RE = re.compile(r"^.{1,4}ICP备\d{4,12}号(-\d{1,3})?$")
CACHE_S = 5.0  # a change reaches every replica's headers within this many seconds
DEFAULT_URL = "https://beian.cac.gov.cn"


class Filing(BaseModel):
    algorithm_number: str = ""
    url: str = ""
    genai_number: str = ""
    icp_number: str = ""
    psb_number: str = ""
    updated_by: str = ""
    updated_at: dt.datetime | None = None

    def header_value(self) -> str:
        return quote(self.algorithm_number, safe="")


def check_filing(
    algorithm_number: str, url: str, genai_number: str = "", icp_number: str = "", psb_number: str = ""
) -> Filing:
    number = text_field(algorithm_number, "algorithm_number", max_chars=64, required=False, multiline=False)
    if number and not ALGORITHM_RE.match(number):
        raise InvalidField(
            "algorithm filing number must look like 网信算备 + 21 digits + 号",
            message_zh="算法备案号格式应为“网信算备”+21位数字+“号”",
        )
    link = text_field(url, "url", max_chars=500, required=False, multiline=False)
    if link and not link.startswith(("https://", "http://")):
        raise InvalidField("filing link must be an http(s) URL", message_zh="备案链接须为 http(s) 地址")
    icp = text_field(icp_number, "icp_number", max_chars=64, required=False, multiline=False)
    if icp and not ICP_RE.match(icp):
        raise InvalidField(
            "ICP filing number must look like 京ICP备12345678号-1", message_zh="ICP 备案号格式无效"
        )
    psb = text_field(psb_number, "psb_number", max_chars=64, required=False, multiline=False)
    if psb and not PSB_RE.match(psb):
        raise InvalidField(
            "public security filing number must look like 京公网安备 + 14 digits + 号",
            message_zh="公安备案号格式无效",
        )
    genai = text_field(genai_number, "genai_number", max_chars=128, required=False, multiline=False)
    return Filing(
        algorithm_number=number,
        url=link or (DEFAULT_URL if number else ""),
        genai_number=genai,
        icp_number=icp,
        psb_number=psb,
    )


class FilingRegistry:
    def __init__(
        self, sessions: sessionmaker[Session], audit: AuditTrail, *, default_number: str, default_url: str
    ) -> None:
        self.sessions = sessions
        self.audit = audit
        self.default = Filing(
            algorithm_number=default_number, url=default_url or (DEFAULT_URL if default_number else "")
        )
        self._cached: tuple[float, Filing] | None = None
        self._lock = threading.Lock()

    def current(self, *, fresh: bool = False) -> Filing:
        now = time.monotonic()
        with self._lock:
            if not fresh and self._cached is not None and now - self._cached[0] < CACHE_S:
                return self._cached[1]
        with self.sessions() as session:
            row = session.scalars(select(GovFiling).order_by(GovFiling.id.desc()).limit(1)).first()
        filing = self.default if row is None else _view(row)
        with self._lock:
            self._cached = (now, filing)
        return filing

    def history(self) -> list[Filing]:
        with self.sessions() as session:
            return [
                _view(r) for r in session.scalars(select(GovFiling).order_by(GovFiling.id.desc()).limit(200))
            ]

    def set(
        self,
        actor: Actor,
        reason: str,
        *,
        algorithm_number: str,
        url: str = "",
        genai_number: str = "",
        icp_number: str = "",
        psb_number: str = "",
    ) -> Filing:
        why = text_field(reason, "reason", max_chars=2000)
        filing = check_filing(algorithm_number, url, genai_number, icp_number, psb_number)
        with self.sessions.begin() as session:
            session.add(
                GovFiling(
                    algorithm_number=filing.algorithm_number,
                    url=filing.url,
                    genai_number=filing.genai_number,
                    icp_number=filing.icp_number,
                    psb_number=filing.psb_number,
                    updated_by=actor.name,
                )
            )
        self.audit.log(actor, "filing.set", "filing", filing.algorithm_number, why, url=filing.url)
        return self.current(fresh=True)


def _view(row: GovFiling) -> Filing:
    return Filing(
        algorithm_number=row.algorithm_number,
        url=row.url,
        genai_number=row.genai_number,
        icp_number=row.icp_number,
        psb_number=row.psb_number,
        updated_by=row.updated_by,
        updated_at=aware(row.updated_at),
    )
