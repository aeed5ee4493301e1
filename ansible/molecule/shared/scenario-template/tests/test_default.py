"""Behaviour checks, run by testinfra straight through podman (fast) rather than through ansible."""

testinfra_hosts = ["podman://CHANGEME-bookworm", "podman://CHANGEME-trixie"]


def test_systemd_is_running(host):
    # "degraded" would mean a unit failed: the role under test must not leave one behind.
    assert host.run("systemctl is-system-running --wait").stdout.strip() == "running"
