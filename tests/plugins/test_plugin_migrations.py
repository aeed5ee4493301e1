"""One Alembic environment, one branch per plugin: the heads, and a plugin branch down and up again."""
from alembic.script import ScriptDirectory


def branch_of(script, revision):
    """The branch labels along a revision's down_revision chain (not its depends_on)."""
    labels, todo = set(), [revision]
    while todo:
        rev = script.get_revision(todo.pop())
        labels |= set(rev.branch_labels)
        todo += rev._versioned_down_revisions
    return labels


def test_heads_are_exactly_core_plus_one_per_plugin_branch(app, migrations):
    with app.app_context():
        script = ScriptDirectory.from_config(migrations.config())
    heads = migrations.heads()
    discovered = app.extensions["shopdb_plugins"].plugins.values()
    with_migrations = {p.name for p in discovered if p.meta and p.meta.migrations_dir.is_dir()}
    assert {"gadgets", "gizmos"} <= with_migrations  # the fixtures, besides the first-party plugins
    labels = {head: branch_of(script, head) for head in heads}
    assert all(len(label) == 1 for label in labels.values()), labels  # no head belongs to two branches
    assert sorted(label for (label,) in labels.values()) == sorted({"core"} | with_migrations)  # one head each
    assert {h for h, (label,) in labels.items() if label in ("gadgets", "gizmos")} == {"gadgets_0002", "gizmos_0001"}
    core_only = ScriptDirectory(script.dir)  # migrations/versions alone: the core revisions
    assert {h for h, (label,) in labels.items() if label == "core"} == set(core_only.get_heads())
    assert migrations.current() == heads  # the fixture database was migrated with `upgrade heads`


def test_plugin_branch_goes_down_to_base_and_up_again(migrations):
    core_tables = migrations.tables() - {"gadgets_items"}
    migrations.downgrade("gadgets@-1")
    assert "gadgets_0001" in migrations.current()
    migrations.downgrade("gadgets@base")
    assert "gadgets_items" not in migrations.tables()
    assert migrations.tables() == core_tables  # the core and the other plugins are untouched
    assert not {"gadgets_0001", "gadgets_0002"} & migrations.current()
    migrations.upgrade("gadgets@head")
    assert "gadgets_0002" in migrations.current() and "gadgets_items" in migrations.tables()
    assert migrations.current() == migrations.heads()


def test_editor_client_can_write_and_viewer_cannot(editor_client, viewer_client):
    body = {"code": "fixture_kind", "name": "Fixture kind"}
    assert viewer_client.post("/api/asset-types", json=body).status_code == 403
    created = editor_client.post("/api/asset-types", json=body)
    assert created.status_code == 201, created.json
