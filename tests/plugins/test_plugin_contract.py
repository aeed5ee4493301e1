"""The manifest and the hook checks, without an app."""
import pytest

from app.plugins import HOOK_API_VERSION, BasePlugin, PluginError
from app.plugins.base import ManifestError, check_hooks, load_manifest

GOOD_MANIFEST = 'name = "tools"\nversion = "1.0.0rc1"\ndescription = "d"\ncore_version = ">=0.1,<0.2"\n'


def write(tmp_path, text):
    (tmp_path / "plugin.toml").write_text(text)
    return tmp_path


def test_manifest_is_parsed_with_pep440_types(tmp_path):
    meta = load_manifest(write(tmp_path, GOOD_MANIFEST))
    assert (meta.name, str(meta.version), meta.display_name) == ("tools", "1.0.0rc1", "tools")
    assert meta.supports("0.1.5") and not meta.supports("0.2.0") and not meta.supports("0.0.9")
    assert meta.migrations_dir == tmp_path.resolve() / "migrations" / "versions"


@pytest.mark.parametrize("text, expected", [
    ('name = "tools"\nversion = "1"\ndescription = "d"\n', "missing key 'core_version'"),
    (GOOD_MANIFEST + 'author = "me"\n', "unknown key 'author'"),
    (GOOD_MANIFEST.replace('"tools"', '"Tools"'), "name 'Tools' must match"),
    (GOOD_MANIFEST.replace('"1.0.0rc1"', '"one"'), "version 'one' is not a PEP 440 version"),
    (GOOD_MANIFEST.replace('">=0.1,<0.2"', '"0.1+"'), "core_version '0.1+' is not a PEP 440 specifier"),
    (GOOD_MANIFEST.replace('">=0.1,<0.2"', '""'), "core_version is empty"),
    (GOOD_MANIFEST.replace('"1.0.0rc1"', "1"), "'version' must be a string"),
    ("name = ", "not valid TOML"),
])
def test_manifest_errors_name_the_problem(tmp_path, text, expected):
    with pytest.raises(ManifestError, match="plugin.toml") as info:
        load_manifest(write(tmp_path, text))
    assert expected in str(info.value)


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="missing; every plugin package ships a plugin.toml"):
        load_manifest(tmp_path)


class Complete(BasePlugin):
    def get_blueprint(self):
        return None

    def get_models(self):
        return []

    def on_install(self):
        pass


def test_complete_plugin_passes():
    check_hooks(Complete())
    assert Complete.hook_api == HOOK_API_VERSION == 1


def test_misspelt_hook_is_rejected():
    class Misspelt(Complete):
        def on_uninstal(self, drop_data):
            pass

    with pytest.raises(PluginError, match="on_uninstal is not a hook"):
        check_hooks(Misspelt())


def test_wrong_hook_signature_is_rejected():
    class Wrong(Complete):
        def on_uninstall(self):
            pass

    expected = r"on_uninstall\(self\) does not match the hook signature \(self, drop_data\)$"
    with pytest.raises(PluginError, match=expected):
        check_hooks(Wrong())


def test_other_hook_api_is_rejected():
    class Future(Complete):
        hook_api = HOOK_API_VERSION + 1

    with pytest.raises(PluginError, match=f"targets hook API {HOOK_API_VERSION + 1}, this core implements"):
        check_hooks(Future())


def test_abstract_hooks_are_required():
    with pytest.raises(TypeError, match="on_install"):
        class Partial(BasePlugin):
            def get_blueprint(self):
                return None

            def get_models(self):
                return []

        Partial()
