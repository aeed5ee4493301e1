"""The template's generated tests catch a broken plugin: render a plugin, apply one breakage at a time (each
a mistake a plugin author could make in an endpoint, a schema, the model or the migrations), run the
rendered plugin's own tests, and require every breakage to make them fail.

Cost: one render, one baseline run, then one run per breakage with -x on SQLite (a caught breakage stops at
its first failing test), two at a time: 5.5 CPU-minutes; 42 minutes of wall time on a 2-core machine shared
with a dozen other test runs (a few minutes on an idle one). Marked slow.
"""
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from copier_kit import render, run_plugin_tests

NAME, P = "widgets", "Widgets"


@dataclass(frozen=True)
class Breakage:
    id: str
    path: str
    old: str
    new: str


def _b(id, path, old, new):
    # A site plugin's package is the <name>/ folder of its repository (ADR 0009); its tests sit beside it.
    path = path if path.startswith("tests/") else f"{NAME}/{path}"
    return Breakage(id, path, old.replace("{P}", P).replace("{n}", NAME), new.replace("{P}", P).replace("{n}", NAME))


BREAKAGES = [
    # Roles, per operation.
    _b("viewer-may-patch", "api.py", '@require_role("editor")\n    @blp.arguments({P}DetailPatchSchema)',
       '@require_role("viewer")\n    @blp.arguments({P}DetailPatchSchema)'),
    _b("viewer-may-create", "api.py", '@require_role("editor")\n    @blp.arguments({P}DetailCreateSchema)',
       '@require_role("viewer")\n    @blp.arguments({P}DetailCreateSchema)'),
    _b("viewer-may-delete", "api.py", '@require_role("editor")\n    @blp.response(204)',
       '@require_role("viewer")\n    @blp.response(204)'),
    _b("viewer-may-restore", "api.py", 'class {P}DetailRestore(MethodView):\n    @require_role("editor")',
       'class {P}DetailRestore(MethodView):\n    @require_role("viewer")'),
    _b("anonymous-may-list", "api.py", '    @require_role("viewer")\n    @blp.arguments({P}ListArgsSchema',
       '    @blp.arguments({P}ListArgsSchema'),
    _b("anonymous-may-read", "api.py", '    @require_role("viewer")\n    @blp.response(200, {P}DetailSchema)\n    def get',
       '    @blp.response(200, {P}DetailSchema)\n    def get'),
    # Lost writes: a missing commit is rolled back when the request's session ends.
    _b("patch-without-commit", "api.py", "        db.session.commit()\n        return with_etag(detail)\n\n    @require_role",
       "        return with_etag(detail)\n\n    @require_role"),
    # The block runs, nothing commits it: the view answers 201 for a row no later request sees.
    _b("create-without-commit", "api.py", "        with commit_or_409(f\"Asset", "        with db.session.no_autoflush or (f\"Asset"),
    _b("delete-without-commit", "api.py",
       'record_audit("delete", ENTITY, detail.asset_id, before=before, after=snapshot(detail))\n        db.session.commit()',
       'record_audit("delete", ENTITY, detail.asset_id, before=before, after=snapshot(detail))'),
    _b("restore-without-commit", "api.py",
       'record_audit("restore", ENTITY, detail.asset_id, before=before, after=snapshot(detail))\n        db.session.commit()',
       'record_audit("restore", ENTITY, detail.asset_id, before=before, after=snapshot(detail))'),
    # Lists: order, filters, search, soft-deleted rows, the SQL they cost.
    _b("list-without-order-by", "api.py", "        stmt = stmt.order_by({P}Detail.asset_id)\n", ""),
    _b("list-in-reverse-order", "api.py", "stmt.order_by({P}Detail.asset_id)", "stmt.order_by({P}Detail.asset_id.desc())"),
    _b("filter-ignored", "api.py", 'FILTERS = ("label", "asset_id", "grade")', 'FILTERS = ("label", "asset_id")'),
    _b("date-filter-inverted", "api.py", "{P}Detail.checked_on >= args", "{P}Detail.checked_on <= args"),
    _b("search-misses-the-asset-tag", "api.py", "Asset.name, Asset.asset_tag))", "Asset.name))"),
    _b("list-shows-soft-deleted-details", "api.py", ", {P}Detail.deleted_at.is_(None))", ")"),
    _b("list-shows-deleted-assets", "api.py", "stmt.where(Asset.deleted_at.is_(None), ", "stmt.where("),
    _b("list-eager-loads-unused-rows", "models.py", "    asset: Mapped[Asset] = relationship()",
       '    asset: Mapped[Asset] = relationship(lazy="joined", innerjoin=True)'),
    _b("list-loads-the-asset-per-row", "schemas.py", "    asset_tag = fields.String(dump_only=True)",
       '    asset_tag = fields.String(attribute="asset.asset_tag", dump_only=True)'),
    # Reads of one row: soft delete, ETag.
    _b("read-shows-soft-deleted-details", "api.py", "def _load(asset_id, include_deleted=False):",
       "def _load(asset_id, include_deleted=True):"),
    _b("read-shows-details-of-deleted-assets", "api.py",
       "    if detail.asset_deleted_at is not None:\n", "    if False:\n"),
    _b("etag-ignores-the-asset", "models.py", "return (self.version, self.asset_version)", "return (self.version,)"),
    _b("patch-answers-without-etag", "api.py", "        db.session.commit()\n        return with_etag(detail)\n\n    @require_role",
       "        db.session.commit()\n        return detail\n\n    @require_role"),
    # Writes: If-Match, the unique race, soft delete and restore, the audit trail.
    _b("patch-ignores-if-match", "api.py", "        check_if_match(detail)\n        before = snapshot(detail)\n        for key",
       "        before = snapshot(detail)\n        for key"),
    _b("delete-ignores-if-match", "api.py", "        check_if_match(detail)\n        before = snapshot(detail)\n        detail.soft_delete()",
       "        before = snapshot(detail)\n        detail.soft_delete()"),
    # No "INSERT flushed outside commit_or_409" breakage: the app-wide IntegrityError handler answers that race
    # with 409 too, so it is no longer a way to break a plugin (tests/test_hostile_input.py holds the handler).
    _b("create-pre-check-removed", "api.py", "        if existing is not None:\n", "        if False:\n"),
    _b("delete-is-a-hard-delete", "api.py", "        detail.soft_delete()", "        db.session.delete(detail)"),
    _b("restore-of-a-live-row-allowed", "api.py", "        if detail.deleted_at is None:\n            abort_json(409",
       "        if False:\n            abort_json(409"),
    _b("update-not-audited", "api.py",
       '            record_audit("update", ENTITY, detail.asset_id, before=before, after=snapshot(detail))\n', ""),
    _b("create-not-audited", "api.py", '        record_audit("create", ENTITY, detail.asset_id, after=snapshot(detail))\n', ""),
    _b("audit-before-taken-after-the-change", "api.py", 'record_audit("update", ENTITY, detail.asset_id, before=before,',
       'record_audit("update", ENTITY, detail.asset_id, before=snapshot(detail),'),
    # Schemas: validation, unknown fields, types on the wire.
    _b("decimal-range-unchecked", "schemas.py", ",\n                          validate=validate.Range(min=0, min_inclusive=False, max=9999999))", ")"),
    _b("unknown-fields-accepted", "schemas.py", "        unknown = RAISE", '        unknown = "exclude"'),
    _b("patch-may-move-the-detail", "schemas.py", "= patch_schema({P}DetailSchema)", "= patch_schema({P}DetailCreateSchema)"),
    _b("date-loaded-as-a-datetime", "schemas.py", "checked_on = fields.Date(allow_none=True)",
       "checked_on = fields.DateTime(allow_none=True)"),
    _b("enum-by-name", "schemas.py", "grade = fields.Enum({P}Grade, by_value=True, allow_none=True)",
       "grade = fields.Enum({P}Grade, allow_none=True)"),
    _b("timestamp-without-offset", "schemas.py", "    updated_at = UTCDateTime(dump_only=True)", "    updated_at = fields.DateTime(dump_only=True)"),
    # Model, migrations, seeds.
    _b("model-drifts-from-migration", "models.py", "mapped_column(String(100))", "mapped_column(String(50))"),
    _b("seed-not-idempotent", "seeds.py", "    if exists is None:\n", "    if True:\n"),
]


def _apply(root, breakage):
    path = root / breakage.path
    text = path.read_text()
    assert text.count(breakage.old) == 1, f"{breakage.id}: the text to break is not in {breakage.path} exactly once"
    path.write_text(text.replace(breakage.old, breakage.new))


def test_breakages_are_distinct_and_apply_to_a_fresh_render(tmp_path):
    assert len({b.id for b in BREAKAGES}) == len(BREAKAGES)
    assert len({(b.path, b.old, b.new) for b in BREAKAGES}) == len(BREAKAGES)
    assert len(BREAKAGES) >= 27
    pristine = render(tmp_path / "pristine" / NAME, {"plugin_name": NAME})
    for breakage in BREAKAGES:
        root = tmp_path / breakage.id / NAME
        shutil.copytree(pristine, root)
        _apply(root, breakage)
        if root.joinpath(breakage.path).suffix == ".py":
            compile(root.joinpath(breakage.path).read_text(), breakage.id, "exec")


@pytest.mark.slow
def test_every_breakage_fails_the_rendered_plugins_tests(tmp_path):
    pristine = render(tmp_path / "pristine" / NAME, {"plugin_name": NAME})
    baseline = run_plugin_tests(pristine)
    assert baseline.returncode == 0, baseline.stdout[-4000:]

    def run(breakage):
        root = tmp_path / breakage.id / NAME
        shutil.copytree(pristine, root, ignore=shutil.ignore_patterns("__pycache__"))
        _apply(root, breakage)
        result = run_plugin_tests(root, extra=("-x",))
        return breakage.id, result

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, BREAKAGES))
    missed = [id for id, result in results if result.returncode == 0]
    # Exit 1 is "tests failed"; anything else (a collection error) means the breakage itself is broken.
    errors = [id for id, result in results if result.returncode not in (0, 1)]
    caught = len(BREAKAGES) - len(missed)
    print(f"mutation score: {caught}/{len(BREAKAGES)} breakages caught")
    assert not errors, {id: r.stdout[-2000:] + r.stderr[-2000:] for id, r in results if id in errors}
    assert not missed, f"the rendered plugin's tests pass despite: {missed}"
