"""Extra link to the remote run's page, read from the XCom the operator pushes before waiting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

if TYPE_CHECKING:
    from airflow.sdk.types import TaskInstanceKey

REMOTE_URL_KEY = "remote_url"
REMOTE_REF_KEY = "remote_ref"


class RemoteRunLink(BaseOperatorLink):
    """ "Open in <platform>": the URL is pushed to XCom at submit time, so the button also shows
    while the task waits and after it failed. The api-server reads the link from XCom
    ``xcom_key``: it is the key the operator pushes at once (not only at the task's end)."""

    name = "Remote run"

    @property
    def xcom_key(self) -> str:
        return REMOTE_URL_KEY

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        value = XCom.get_value(key=REMOTE_URL_KEY, ti_key=ti_key)
        return str(value) if value else ""
