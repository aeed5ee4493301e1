"""`flask plugin list | install | uninstall | enable | disable`."""
import click
from flask.cli import AppGroup

from app.plugins import lifecycle
from app.plugins.base import PluginError

plugin_cli = AppGroup("plugin", help="Discover, install and enable plugins on this site.")


def _run(operation, *args):
    try:
        click.echo(operation(*args))
    except PluginError as exc:
        raise click.ClickException(str(exc)) from None


@plugin_cli.command("list")
def list_plugins():
    """Every discovered plugin (installed or not) with its version, state and error."""
    rows = lifecycle.status()
    if not rows:
        click.echo("no plugins discovered")
        return
    table = [("NAME", "VERSION", "STATE", "ERROR")]
    for row in rows:
        version = row["version"] or "-"
        if row["installed_version"] and row["installed_version"] != row["version"]:
            version += f" (installed {row['installed_version']})"
        table.append((row["name"], version, row["state"], row["error"] or ""))
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + "  " + row[3])


@plugin_cli.command("install")
@click.argument("name")
def install(name):
    """Migrate the core and NAME's branch to head, seed it (on_install) and enable it. Idempotent."""
    _run(lifecycle.install, name)


@plugin_cli.command("uninstall")
@click.argument("name")
@click.option("--drop-data", is_flag=True, help="Also drop NAME's tables (downgrade its branch to base).")
def uninstall(name, drop_data):
    """Remove NAME from this site; its tables and rows are kept unless --drop-data."""
    _run(lifecycle.uninstall, name, drop_data)


@plugin_cli.command("enable")
@click.argument("name")
def enable(name):
    """Serve NAME's routes again (every worker, next request)."""
    _run(lifecycle.set_enabled, name, True)


@plugin_cli.command("disable")
@click.argument("name")
def disable(name):
    """Answer 404 on NAME's routes; its data stays."""
    _run(lifecycle.set_enabled, name, False)
