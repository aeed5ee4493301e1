"""Address lists (addresses or CIDRs) and the proxy fix that believes X-Forwarded-* only from trusted proxies."""

import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix


def network_problems(name, items):
    """What is wrong with the address/CIDR entries *items* of setting *name* (empty list when all parse)."""
    problems = []
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            problems.append(f"{name} entry {item!r} is not an IP address or CIDR: use e.g. 10.0.0.5 or 10.0.0.0/24.")
    return problems


def parse_networks(items):
    """*items* (addresses or CIDRs, already checked with `network_problems`) as ip_network objects."""
    return [ipaddress.ip_network(item, strict=False) for item in items]


def address_in(address, networks):
    """True when *address* (text, possibly empty or garbage) lies in one of *networks*."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in networks)


class TrustedProxyFix:
    """ProxyFix (one hop, X-Forwarded-For and -Proto) applied only when the direct peer is a trusted proxy.

    Werkzeug's ProxyFix believes the header from any sender; anyone reaching gunicorn's port directly could
    then pick their own address and reset the per-address login limit. A direct client's headers are ignored.
    """

    def __init__(self, wsgi_app, trusted):
        self.wsgi_app = wsgi_app
        self.trusted = parse_networks(trusted)
        self.fixed = ProxyFix(wsgi_app, x_for=1, x_proto=1)

    def __call__(self, wsgi_env, start_response):
        if address_in(wsgi_env.get("REMOTE_ADDR"), self.trusted):
            return self.fixed(wsgi_env, start_response)
        return self.wsgi_app(wsgi_env, start_response)
