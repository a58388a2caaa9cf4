"""The template of a platform package (docs/adding-a-platform.md).

"Acme" is a toy platform with one kind of remote run: copy this package to ``airflow_provider/<name>``
and rename ``_template``, ``acme`` and ``Acme``; every module then has its place and its
conventions. It is a working platform against ``airflow_provider.testing._template``, and
``tests/test_template.py`` builds it into a toy platform the way the guide says.
"""
