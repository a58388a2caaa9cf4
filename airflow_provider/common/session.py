"""Session logins as flows: credentials exchanged for a token, written once for both drivers.

A platform with :class:`SessionAuth` (PaddleFlow) gets every authenticated call wrapped in
:func:`with_session`: log in when there is no token, send the call, and on a rejected token log in
once more and resend; a second rejection is final. The login itself is a :class:`Shared` step, so
the async driver runs one login per connection and event loop however many triggers ask at once
(1,000 waits starting together log in once), and the token is masked once, by the driver.
"""

from __future__ import annotations

from typing import Any

from airflow_provider.common.errors import ApiError
from airflow_provider.common.flow import Call, Flow, Mask, Shared
from airflow_provider.common.transport import Auth


class SessionAuth(Auth):
    """Credentials exchanged for a token by a login call (PaddleFlow).

    The driver logs in lazily, and once more when the platform rejects a token it had accepted
    (tokens expire); a second rejection is final.
    """

    token: str | None = None

    def login_call(self) -> Call:
        raise NotImplementedError

    def accept(self, answer: Any) -> str:
        """Store the token from the login answer and return it."""
        raise NotImplementedError

    def rejected(self, err: ApiError) -> bool:
        """Whether this error means "the token is no longer good" (PaddleFlow answers 400 with a code)."""
        return err.status == 401


def login(auth: SessionAuth, stale: str | None) -> Flow[str]:
    """A fresh token, unless another flow already replaced ``stale`` while this one waited."""
    if auth.token is not None and auth.token != stale:
        return auth.token
    auth.token = None
    token = auth.accept((yield auth.login_call()))
    yield Mask(token)
    return token


def _login_once(auth: SessionAuth, stale: str | None) -> Shared:
    # one key per connection (the driver adds it), max_age 0: whoever asks while a login is in
    # flight shares it, whatever token they hold; an asker after it sees the new token and skips
    return Shared(key=("login", type(auth).__name__), max_age=0.0, flow=login(auth, stale))


def with_session(call: Call, auth: SessionAuth) -> Flow[Any]:
    """``call`` sent with the session's token, logging in first or again as the platform requires."""
    if auth.token is None:
        yield _login_once(auth, None)
    used = auth.token
    try:
        return (yield call)
    except ApiError as err:
        if not auth.rejected(err):
            raise
    yield _login_once(auth, used)
    return (yield call)
