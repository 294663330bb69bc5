"""The resource factory: a configured dlt plugin, or nothing when the project has no ingestion."""

from __future__ import annotations

import pytest
from floe_core import (
    FloeConfigError,
    PluginNotFoundError,
    PluginRef,
    ResolvedPlugins,
    compile_spec,
)
from floe_ingestion_dlt import DltIngestionPlugin
from floe_orchestrator_dagster.plugin import DagsterOrchestratorPlugin
from floe_orchestrator_dagster.resources.ingestion import (
    create_ingestion_resources,
    ingestion_ref,
    try_create_ingestion_resources,
)
from floe_testing.fixtures.ingestion import FloeProject


def test_resources_hold_the_configured_plugin(
    quickstart: FloeProject,
) -> None:
    resources = create_ingestion_resources(
        PluginRef(type="dlt", config={"source_path": str(quickstart.file)})
    )

    assert set(resources) == {"floe_ingestion"}
    plugin = resources["floe_ingestion"]
    assert isinstance(plugin, DltIngestionPlugin)
    assert [s.name for s in plugin.config.sources] == ["shop"]
    assert plugin.config.project_dir == str(quickstart.root)


def test_ingestion_ref_points_at_the_compiled_floe_yaml(quickstart: FloeProject) -> None:
    artifacts = compile_spec(quickstart.file)

    ref = ingestion_ref(artifacts)

    assert ref == PluginRef(type="dlt", config={"source_path": str(quickstart.file)})
    plugins = artifacts.plugins.model_copy(update={"ingestion": ref})
    assert set(try_create_ingestion_resources(plugins)) == {"floe_ingestion"}


@pytest.mark.parametrize("plugins", [None, ResolvedPlugins()])
def test_no_ingestion_plugin_gives_no_resources(plugins: ResolvedPlugins | None) -> None:
    assert try_create_ingestion_resources(plugins) == {}


def test_a_reference_without_source_path_says_what_is_missing() -> None:
    with pytest.raises(FloeConfigError, match=r"config\.source_path: Field required"):
        create_ingestion_resources(PluginRef(type="dlt"))


def test_a_plugin_that_is_not_installed_is_not_hidden(quickstart: FloeProject) -> None:
    ref = PluginRef(type="airbyte", config={"source_path": str(quickstart.file)})
    with pytest.raises(PluginNotFoundError, match="no ingestion plugin named 'airbyte'"):
        try_create_ingestion_resources(ResolvedPlugins(ingestion=ref))


def test_a_source_type_that_is_not_installed_names_the_package(
    floe_project: FloeProject,
) -> None:
    floe_project.write(
        """
        ingestion:
          sources:
            - {name: crm, type: salesforce, destination: {namespace: bronze}}
        """
    )
    with pytest.raises(FloeConfigError, match="pip install floe-dlt-source-salesforce"):
        DagsterOrchestratorPlugin().create_definitions(compile_spec(floe_project.file))


def test_a_project_without_sources_gives_empty_definitions(floe_project: FloeProject) -> None:
    floe_project.write("retry: {max_retries: 1}\n")

    defs = DagsterOrchestratorPlugin().create_definitions(compile_spec(floe_project.file))

    assert list(defs.assets or []) == []
    assert list(defs.jobs or []) == []
    assert list(defs.schedules or []) == []


def test_artifacts_without_ingestion_give_empty_definitions(quickstart: FloeProject) -> None:
    artifacts = compile_spec(quickstart.file)
    artifacts = artifacts.model_copy(update={"plugins": ResolvedPlugins()})

    defs = DagsterOrchestratorPlugin().create_definitions(artifacts)

    assert list(defs.assets or []) == []
    assert dict(defs.resources or {}) == {}
