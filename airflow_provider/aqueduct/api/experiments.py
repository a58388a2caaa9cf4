"""Aqueduct experiments and their tags (seed 003; wire: reference/aqueduct.md §3.2-3.3), one flow each."""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from typing import Any

from airflow_provider.aqueduct.api.graphql import gql, iso_datetime
from airflow_provider.aqueduct.models import Experiment
from airflow_provider.common.errors import ConfigError
from airflow_provider.common.flow import Flow

EXP = "uuid title description eid createdAt updatedAt tags files { name path modifiedAt }"
#: both generations: a title may have 256 characters, the title *filter* of ``experiments`` only 64
TITLE_MAX, TITLE_FILTER_MAX = 256, 64


# --- experiments -----------------------------------------------------------------------
def create_experiment(title: str, description: str, tags: list[str] | None = None) -> Flow[Experiment]:
    query = f"mutation CreateExperiment($title: String!, $description: String!, $tags: [String!]!) {{ createExperiment(createExperimentInput: {{title: $title, description: $description, tags: $tags}}) {{ {EXP} }} }}"
    return Experiment.model_validate((yield from gql(query, {"title": title, "description": description, "tags": tags or []}, "createExperiment")))


def _experiment(kind: str, value: str) -> Flow[Experiment]:
    query = (
        f"query GetExperimentByIdentifier($type: IDType!, $value: String!) {{ experiment(experimentIdentifier: {{value: $value, type: $type}}) {{ {EXP} }} }}"
    )
    return Experiment.model_validate((yield from gql(query, {"type": kind, "value": value}, "experiment")))


def get_experiment_by_eid(eid: str) -> Flow[Experiment]:
    return (yield from _experiment("EID", eid))


def get_experiment_by_uuid(uuid: str) -> Flow[Experiment]:
    return (yield from _experiment("UUID", str(uuid)))


def is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(str(value))
    except ValueError:
        return False
    return True


def get_experiment(identifier: str) -> Flow[Experiment]:
    """By UUID or EID, whichever ``identifier`` looks like."""
    return (yield from (get_experiment_by_uuid(identifier) if is_uuid(identifier) else get_experiment_by_eid(identifier)))


def find_experiments(
    search: str | None = None,
    limit: int = 10,
    offset: int = 0,
    tags: list[str] | None = None,
    start_datetime: dt.datetime | str | None = None,
    end_datetime: dt.datetime | str | None = None,
) -> Flow[list[Experiment]]:
    page = yield from find_experiments_page(search, limit, offset, tags, start_datetime, end_datetime)
    return page[0]


def find_experiments_page(
    search: str | None = None,
    limit: int = 10,
    offset: int = 0,
    tags: list[str] | None = None,
    start_datetime: dt.datetime | str | None = None,
    end_datetime: dt.datetime | str | None = None,
) -> Flow[tuple[list[Experiment], int]]:
    if search is not None and len(search) > TITLE_FILTER_MAX:
        raise ConfigError(
            f"search has {len(search)} characters; the server filters titles by at most {TITLE_FILTER_MAX}: search by a part of the title "
            "(title_search_key() gives one) and compare the titles found"
        )
    query = (
        "query GetExperiments($limit: Int!, $offset: Int!, $title: String = null, $startDate: DateTime = null, $endDate: DateTime = null, $tags: [String!] = null) "
        f"{{ experiments(filters: {{title: $title, startDate: $startDate, endDate: $endDate, tags: $tags}}, limit: $limit, offset: $offset) {{ experimentsData {{ {EXP} }} totalExperimentsCount }} }}"
    )
    variables = {
        "limit": limit,
        "offset": offset,
        "title": search,
        "startDate": iso_datetime(start_datetime),
        "endDate": iso_datetime(end_datetime),
        "tags": tags,
    }
    data = yield from gql(query, variables, "experiments")
    return [Experiment.model_validate(e) for e in data["experimentsData"]], int(data["totalExperimentsCount"])


def title_search_key(title: str) -> str | None:
    """A title filter that finds the experiments titled exactly ``title`` (among others): the filter is a
    case-insensitive SQL ``ILIKE`` substring of at most 64 characters, where ``%`` and ``_`` match themselves
    too but a backslash escapes the next character, so take the longest backslash-free part, cut to 64."""
    part = max(title.split("\\"), key=len)[:TITLE_FILTER_MAX]
    return part or None


def find_all_experiments(search: str | None = None, tags: list[str] | None = None, page_size: int = 100, **dates: Any) -> Flow[list[Experiment]]:
    found: list[Experiment] = []
    while True:
        page, total = yield from find_experiments_page(search, page_size, len(found), tags, dates.get("start_datetime"), dates.get("end_datetime"))
        found.extend(page)
        if not page or len(found) >= total:
            return found


def remove_experiment_by_uuid(uuid: str) -> Flow[None]:
    yield from gql("mutation RemoveExperiment($uuid: UUID!) { removeExperiment(experimentRemoveInput: {uuid: $uuid}) }", {"uuid": str(uuid)})


def remove_experiment_by_eid(eid: str) -> Flow[None]:
    experiment = yield from get_experiment_by_eid(eid)
    yield from remove_experiment_by_uuid(experiment.uuid)


def update_experiment(uuid: str, title: str | None = None, description: str | None = None) -> Flow[Experiment]:
    query = f"mutation UpdateExperiment($uuid: UUID!, $title: String, $description: String) {{ updateExperiment(uuid: $uuid, experimentUpdateInput: {{title: $title, description: $description}}) {{ {EXP} }} }}"
    return Experiment.model_validate((yield from gql(query, {"uuid": str(uuid), "title": title, "description": description}, "updateExperiment")))


def add_tags(uuid: str, tags: list[str]) -> Flow[Experiment]:
    query = (
        f"mutation AddTagToExperiment($uuid: UUID!, $tags: [String!]!) {{ addTagsToExperiment(experimentTagsInput: {{uuid: $uuid, tags: $tags}}) {{ {EXP} }} }}"
    )
    return Experiment.model_validate((yield from gql(query, {"uuid": str(uuid), "tags": list(tags)}, "addTagsToExperiment")))


def remove_tag(uuid: str, tag: str) -> Flow[Experiment]:
    query = f"mutation RemoveTagFromExperiment($uuid: UUID!, $tag: String!) {{ removeTagFromExperiment(experimentTagInput: {{uuid: $uuid, tag: $tag}}) {{ {EXP} }} }}"
    return Experiment.model_validate((yield from gql(query, {"uuid": str(uuid), "tag": tag}, "removeTagFromExperiment")))


def get_tags(limit: int | None = None, offset: int | None = None, dangling: bool = True) -> Flow[list[str]]:
    query = "query GetAllTags($limit: Int, $offset: Int, $dangling: Boolean) { tags(limit: $limit, offset: $offset, filters: {includeDangling: $dangling}) { tagsData totalTagsCount } }"
    return list((yield from gql(query, {"limit": limit, "offset": offset, "dangling": dangling}, "tags"))["tagsData"])
