"""Plugin framework (placeholder until the plugin engineer's loader lands)."""


def migration_locations():
    return []


def init_app(app):
    pass
