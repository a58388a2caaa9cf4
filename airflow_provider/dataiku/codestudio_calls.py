"""Seed 000: code studios and their templates, as hook methods (flows in ``api/codestudios.py``)."""

from __future__ import annotations

from airflow_provider.common.flow import endpoint
from airflow_provider.dataiku.api import codestudios


class CodeStudioCalls:
    list_code_studios = endpoint(codestudios.list_code_studios)
    create_code_studio = endpoint(codestudios.create_code_studio)
    get_code_studio_settings = endpoint(codestudios.get_settings)
    get_code_studio_status = endpoint(codestudios.get_status)
    restart_code_studio = endpoint(codestudios.restart)
    stop_code_studio = endpoint(codestudios.stop)
    check_code_studio_conflicts = endpoint(codestudios.check_conflicts)
    pull_from_code_studio = endpoint(codestudios.pull_from_code_studio)
    push_to_code_studio = endpoint(codestudios.push_to_code_studio)
    change_code_studio_owner = endpoint(codestudios.change_owner)
    delete_code_studio = endpoint(codestudios.delete)
    list_code_studio_templates = endpoint(codestudios.list_templates)
    get_code_studio_template_settings = endpoint(codestudios.get_template_settings)
    save_code_studio_template_settings = endpoint(codestudios.save_template_settings)
    build_code_studio_template = endpoint(codestudios.build_template)
