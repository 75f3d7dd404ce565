"""Talking to a DICOMweb server: credentials, requests with retries, QIDO-RS listings, WADO-RS metadata.

:class:`Server` holds the base URL (never with credentials in it: :func:`check_url` refuses
``user:password@``), the credentials taken from the environment or a file (:func:`auth_from_env`),
one ``httpx.Client`` shared by the reading threads, the timeout and the retry policy. Every
request goes through :meth:`Server.get_json`: 429, 5xx, timeouts and connection errors are tried
again with exponential backoff (``Retry-After`` honoured up to a cap); what still fails raises
:class:`RequestFailed` with a kind and a one-line reason for the errors table. Credentials never
appear in a reason, a URL or the manifest.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from ..errors import IdcQcError

TOKEN_ENV = "IDC_QC_DICOMWEB_TOKEN"
USER_ENV = "IDC_QC_DICOMWEB_USER"
PASSWORD_ENV = "IDC_QC_DICOMWEB_PASSWORD"

#: Kinds of errors-table row a request can give (docs/ingest.md, "The errors table").
HTTP_ERROR, TIMEOUT, UNREACHABLE, MALFORMED, GONE, REFUSED, PAGING = (
    "http_error", "timeout", "unreachable", "malformed_response", "gone", "unauthorized", "paging_ignored")

RETRY_STATUS = {429, 500, 502, 503, 504}
DICOM_JSON = "application/dicom+json"
#: QIDO-RS attributes: StudyInstanceUID, SeriesInstanceUID, NumberOfSeriesRelatedInstances.
STUDY_UID, SERIES_UID, SERIES_INSTANCES = "0020000D", "0020000E", "00201209"


class RequestFailed(Exception):
    """A request that failed after its retries: ``kind`` and a one-line ``reason``."""

    def __init__(self, url: str, kind: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url, self.kind, self.reason = url, kind, reason


def is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def check_url(url: str) -> str:
    """The base URL without a trailing slash; refuses credentials, a query or a fragment in it."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        # never echo the URL: it holds the password
        raise IdcQcError(f"the DICOMweb URL holds a user name or password: remove it from the URL and set "
                         f"{USER_ENV} and {PASSWORD_ENV} (or {TOKEN_ENV}, or --token-file) instead")
    if parts.query or parts.fragment:
        raise IdcQcError("the DICOMweb URL holds a ?query or #fragment: give the service's base URL "
                         "(e.g. https://host/dicom-web); credentials go in environment variables")
    if not parts.hostname:
        raise IdcQcError(f"{url!r} is not a DICOMweb base URL: give http(s)://host[:port]/path")
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class Credentials:
    """How requests authenticate; ``describe`` is what the manifest may say (never the secret)."""

    header: str | None = None       # the Authorization header value
    describe: str = "none"

    def __repr__(self) -> str:  # a traceback or a debug print never shows the secret
        return f"Credentials({self.describe})"


def auth_from_env(token_file: Path | None = None, password_file: Path | None = None,
                  env: dict[str, str] | None = None) -> Credentials:
    """Credentials from ``--token-file``, ``IDC_QC_DICOMWEB_TOKEN`` or ``IDC_QC_DICOMWEB_USER`` with
    ``IDC_QC_DICOMWEB_PASSWORD`` (or ``--password-file``); none when nothing is set."""
    import base64

    env = os.environ if env is None else env
    token = None
    source = None
    if token_file is not None:
        token, source = _read_secret(token_file, "--token-file"), f"bearer token from --token-file {token_file}"
    elif env.get(TOKEN_ENV):
        token, source = env[TOKEN_ENV].strip(), f"bearer token from {TOKEN_ENV}"
    user = env.get(USER_ENV)
    if token is not None and user:
        raise IdcQcError(f"both a bearer token and {USER_ENV} are set: give one way to authenticate "
                         f"(unset {TOKEN_ENV} or {USER_ENV})")
    if token is not None:
        if not token:
            raise IdcQcError(f"the bearer token ({source.split(' from ')[1]}) is empty")
        return Credentials(f"Bearer {token}", source)
    if user:
        if password_file is not None:
            password = _read_secret(password_file, "--password-file")
        elif PASSWORD_ENV in env:
            password = env[PASSWORD_ENV]
        else:
            raise IdcQcError(f"{USER_ENV} is set but no password: set {PASSWORD_ENV} or give --password-file")
        pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return Credentials(f"Basic {pair}", f"basic auth from {USER_ENV}")
    if password_file is not None or env.get(PASSWORD_ENV):
        raise IdcQcError(f"a password is given but no user: set {USER_ENV}")
    return Credentials()


def _read_secret(path: Path, option: str) -> str:
    try:
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise IdcQcError(f"{option} {str(path)!r}: cannot read it ({exc.strerror or exc})") from None
    if not text:
        raise IdcQcError(f"{option} {str(path)!r} is empty")
    return text


class Server:
    """One DICOMweb service: base URL, credentials, timeout, retries (thread-safe)."""

    def __init__(self, url: str, credentials: Credentials | None = None, *, timeout: float = 30.0,
                 retries: int = 3, backoff: float = 0.5, connections: int = 4) -> None:
        import httpx

        self.url = check_url(url)
        self.credentials = credentials or Credentials()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        headers = {"Accept": DICOM_JSON}
        if self.credentials.header:
            headers["Authorization"] = self.credentials.header
        # httpx drops Authorization on a redirect to another origin
        self._client = httpx.Client(headers=headers, timeout=timeout, follow_redirects=True,
                                    limits=httpx.Limits(max_connections=connections,
                                                        max_keepalive_connections=connections))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def series_url(self, study: str, series: str) -> str:
        return f"{self.url}/studies/{quote(study, safe='')}/series/{quote(series, safe='')}"

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``url`` as DICOM JSON (parsed; an empty body is an empty list), with retries."""
        shown, body = self.get(url, params)
        return parse_json(body, shown)

    def get(self, url: str, params: dict[str, Any] | None = None) -> tuple[str, bytes]:
        """GET ``url`` with retries: (the URL as shown in errors, the body; b"" for 204)."""
        import httpx

        shown = url if not params else f"{url}?" + "&".join(f"{k}={v}" for k, v in params.items())
        tries = self.retries + 1
        for attempt in range(tries):
            last = attempt == tries - 1
            try:
                response = self._client.get(url, params=params)
            except httpx.TimeoutException:
                if last:
                    raise RequestFailed(shown, TIMEOUT, f"no response within {self.timeout:g} s "
                                                        f"({tries} tries)") from None
                self._sleep(attempt, None)
                continue
            except httpx.TransportError as exc:
                if last:
                    raise RequestFailed(shown, UNREACHABLE, f"connection failed: {_one_line(exc)} "
                                                            f"({tries} tries)") from None
                self._sleep(attempt, None)
                continue
            status = response.status_code
            if status in RETRY_STATUS and not last:
                self._sleep(attempt, response.headers.get("Retry-After"))
                continue
            if status in (401, 403):
                raise RequestFailed(shown, REFUSED, f"HTTP {status} {response.reason_phrase}: the server refused "
                                                    f"the credentials ({self.credentials.describe})")
            if status in (404, 410):
                raise RequestFailed(shown, GONE, f"HTTP {status} {response.reason_phrase}: not on the server "
                                                 "(deleted since it was listed, or never there)")
            if status == 204:
                return shown, b""
            if status >= 300:
                again = f" after {tries} tries" if status in RETRY_STATUS else ""
                raise RequestFailed(shown, HTTP_ERROR, f"HTTP {status} {response.reason_phrase}{again}")
            return shown, response.content
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff * (2 ** attempt) * (1 + random.random() / 4)
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, min(float(retry_after), 30.0))
        time.sleep(delay)

    def query(self, path: str, params: dict[str, Any], *, page: int = 1000) -> tuple[list[dict], str | None]:
        """A QIDO-RS query, paged with limit and offset; returns (matches, a note when the server
        ignored paging). Raises RequestFailed when a page fails."""
        url = f"{self.url}/{path}"
        found: list[dict] = []
        seen: set[str] = set()
        offset = 0
        while True:
            batch = self.get_json(url, {**params, "limit": page, "offset": offset})
            if not isinstance(batch, list) or any(not isinstance(item, dict) for item in batch):
                raise RequestFailed(url, MALFORMED, "a QIDO-RS answer that is not a list of DICOM JSON objects")
            keys = [json.dumps(item, sort_keys=True) for item in batch]
            fresh = [item for item, key in zip(batch, keys) if key not in seen]
            seen.update(keys)
            found += fresh
            if len(batch) > page:
                return found, f"asked for {page} results, got {len(batch)}: the server ignores limit; kept them all"
            if batch and not fresh:
                return found, f"offset {offset} repeated results already read: the server ignores offset; " \
                              "stopped paging (later matches may be missing)"
            if len(batch) < page:
                return found, None
            offset += page


def parse_json(body: bytes, shown: str) -> Any:
    """A response body as JSON, numbers kept as their text (:class:`_Number`); raises RequestFailed."""
    if not body.strip():
        return []
    try:
        return json.loads(body, parse_float=_Number, parse_int=_Number)
    except ValueError as exc:
        raise RequestFailed(shown, MALFORMED, f"not JSON: {_one_line(exc)}") from None


class _Number(str):
    """A JSON number kept as its text: DS and IS keep the text the server wrote (dicomweb.py)."""

    __slots__ = ()


def value(item: dict, tag: str) -> Any:
    """The first value of ``tag`` in a DICOM JSON object, or None."""
    element = item.get(tag)
    values = element.get("Value") if isinstance(element, dict) else None
    return values[0] if isinstance(values, list) and values else None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text and text[0] else type(exc).__name__
