"""asset_uri's direct path gives what the general one (quote, split, sanitize_uri) gives."""

from __future__ import annotations

import random
import string
from urllib.parse import quote, urlsplit

import pytest

from airflow_provider.common.assets import SHAPES, asset_uri, sanitize_uri


def _general(scheme: str, host: str, *parts: str) -> str:
    raw = f"{scheme}://{host}/" + "/".join(quote(p, safe="") for p in parts)
    return sanitize_uri(urlsplit(raw)).geturl()


def _shapes(scheme: str, ids: list[str]) -> list[list[str]]:
    out = []
    for (pos, word), n_ids in SHAPES[scheme].items():
        head = ids[:pos]
        out.append([*head, word, *ids[pos : pos + n_ids]])
    return out


ALPHABET = string.ascii_letters + string.digits + "_.~-" + " /%?#:@+é{}"


@pytest.mark.parametrize("scheme", sorted(SHAPES))
def test_direct_path_matches_the_general_one(scheme: str) -> None:
    rng = random.Random(scheme)
    hosts = ["dss", "DSS_Prod", "dataiku_default", "host.example.com", "Host:8443", "user@host"]
    for _ in range(300):
        ids = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 8))) for _ in range(3)]
        for parts in _shapes(scheme, ids):
            host = rng.choice(hosts)
            assert asset_uri(scheme, host, *parts) == _general(scheme, host, *parts), (host, parts)


def test_plain_pieces_are_normalised() -> None:
    assert asset_uri("dataiku", "DSS", "demo", "scenarios", "Build") == "dataiku://dss/DEMO/scenarios/Build"
    assert asset_uri("aqueduct", "aq", "extensions", "a b", "x/y") == "aqueduct://aq/extensions/a%20b/x%2Fy"


@pytest.mark.parametrize("parts", [("P", "scenarios"), ("P", "nope", "S"), ("P", "scenarios", "")])
def test_a_wrong_shape_is_refused(parts: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="must be"):
        asset_uri("dataiku", "dss", *parts)
