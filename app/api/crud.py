"""Write paths shared by the soft-deletable core resources (assets, asset types, locations).

Each function validates, records the audit row and commits once, so the change and its audit entry
land together or not at all.
"""

from sqlalchemy import select

from app.api.common import abort_json, check_if_match, commit_or_409, record_audit, snapshot
from app.extensions import db


def _live_conflict(model, key, value, exclude_id=None):
    stmt = select(model.id).where(getattr(model, key) == value, model.deleted_at.is_(None))
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    return db.session.scalar(stmt.limit(1))


def _unique_write(model, key, value):
    """The write's commit: a concurrent write of the same natural key (past the pre-check) is a 409."""
    return commit_or_409(f"A live {model.__tablename__} row with {key}={value!r} already exists: "
                         "choose another value or restore/rename the existing one.", details={key: ["already in use"]})


def create_row(model, key, data):
    """Insert a row from validated *data*; 409 when *key*'s value is taken by a live row."""
    if _live_conflict(model, key, data[key]) is not None:
        abort_json(409, f"A live {model.__tablename__} row with {key}={data[key]!r} already exists.",
                   code="conflict", details={key: ["already in use"]})
    obj = model(**data)
    with _unique_write(model, key, data[key]):
        db.session.add(obj)
        db.session.flush()
        record_audit("create", model.__tablename__, obj.id, after=snapshot(obj))
    return obj


def update_row(obj, key, data):
    """Apply *data* to *obj* after the If-Match check; 409 when the new key value is taken."""
    check_if_match(obj)
    model = type(obj)
    if key in data and _live_conflict(model, key, data[key], exclude_id=obj.id) is not None:
        abort_json(409, f"A live {model.__tablename__} row with {key}={data[key]!r} already exists.",
                   code="conflict", details={key: ["already in use"]})
    before = snapshot(obj)
    with _unique_write(model, key, data.get(key, getattr(obj, key))):
        for field, value in data.items():
            setattr(obj, field, value)
        db.session.flush()
        after = snapshot(obj)
        if after != before:  # a PATCH that changes nothing leaves no audit row and keeps the ETag
            record_audit("update", model.__tablename__, obj.id, before=before, after=after)
    return obj


def delete_row(obj, in_use=None):
    """Soft-delete *obj* after the If-Match check; *in_use* (a message or None) refuses with 409."""
    check_if_match(obj)
    if in_use:
        abort_json(409, in_use, code="in_use")
    before = snapshot(obj)
    obj.soft_delete()
    db.session.flush()
    record_audit("delete", obj.__tablename__, obj.id, before=before, after=snapshot(obj))
    db.session.commit()


def restore_row(obj, key):
    """Undo a soft delete; 409 when the row is live or its key was reused meanwhile."""
    model = type(obj)
    if obj.deleted_at is None:
        abort_json(409, f"{model.__tablename__} {obj.id} is not deleted.", code="not_deleted")
    value = getattr(obj, key)
    if _live_conflict(model, key, value) is not None:
        abort_json(409, f"Cannot restore: a live {model.__tablename__} row now has {key}={value!r}. "
                        "Rename one of them first.", code="conflict")
    before = snapshot(obj)
    with _unique_write(model, key, value):
        obj.restore()
        db.session.flush()
        record_audit("restore", model.__tablename__, obj.id, before=before, after=snapshot(obj))
    return obj
