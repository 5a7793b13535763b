"""Spellings of non-public targets, for the outbound guard's tests.

Each form is written against ``127.0.0.1`` (or another non-public address) on a port
the caller listens on, so a guard that lets one through shows up as a connection.
``BY_FORM`` must be refused without DNS; ``BY_ADDRESS`` are hostnames, acceptable by
their form, that resolve to loopback or not at all: only the connect-time check can
stop them.
"""

from __future__ import annotations

import socket

#: hosts that spell a non-public address (``{port}`` is filled in)
HOSTS: tuple[str, ...] = (
    # dotted quads and the short, decimal, octal and hex forms of inet_aton
    "127.0.0.1",
    "127.0.0.1.",
    "127.0.0.1..",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f000001",
    "0x7f.1",
    "0X7F.0x0.0x0.0x1",
    "0177.0.0.1",
    "0177.0000.0000.0001",
    "017700000001",
    "0",
    "0.0.0.0",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "255.255.255.255",
    "224.0.0.1",
    # IPv6, and IPv4 carried in IPv6 (mapped, compatible, 6to4, NAT64, Teredo)
    "[::1]",
    "[::]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::127.0.0.1]",
    "[2002:7f00:1::]",
    "[2002:a9fe:a9fe::1]",
    "[64:ff9b::7f00:1]",
    "[64:ff9b::169.254.169.254]",
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
    "[fe80::1]",
    "[fe80::1%25eth0]",
    "[fe80::1%25lo]",
    "[fc00::1]",
    "[fd12:3456::1]",
    "[ff02::1]",
    # digits and full stops of other scripts
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # fullwidth digits
    "\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11",  # and fullwidth stops
    "127\u30020\u30020\u30021",  # ideographic full stop
    "127\uff610\uff610\uff611",  # halfwidth ideographic full stop
    "\u2460\u2461\u2466.\u24ea.\u24ea.\u2460",  # circled digits
    "\u0661\u0662\u0667.\u0660.\u0660.\u0661",  # Arabic-Indic
    "\u06f1\u06f2\u06f7.\u06f0.\u06f0.\u06f1",  # extended Arabic-Indic
    "\u0967\u0968\u096d.\u0966.\u0966.\u0967",  # Devanagari
    "\u09e7\u09e8\u09ed.\u09e6.\u09e6.\u09e7",  # Bengali
    "\u0e51\u0e52\u0e57.\u0e50.\u0e50.\u0e51",  # Thai
    "\U0001d7cf\U0001d7d0\U0001d7d5.\U0001d7ce.\U0001d7ce.\U0001d7cf",  # mathematical bold
    "127.0.0.\uff11",  # one fullwidth digit
    "\uff10\uff58\uff17\uff46.\uff11",  # fullwidth hex
    "\u2460\uff12\u2466\u30020\uff610.\u2460",  # mixed scripts and stops
    "1\u00ad27.0.0.1",  # soft hyphen (IDNA drops it)
    "%31%32%37.0.0.1",  # percent-encoded
    # names that are loopback by definition
    "localhost",
    "localhost.",
    "LOCALHOST",
    "\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54",  # fullwidth letters
    "api.localhost",
    "localhost.localdomain",
    "ip6-localhost",
)

#: whole URLs refused by their form whatever their host
URLS: tuple[str, ...] = (
    "http://x@127.0.0.1:{port}/",
    "http://user:pw@127.0.0.1:{port}/",
    "http://example.com@127.0.0.1:{port}/",
    "http://127.0.0.1:{port}\\@example.com/",
    "http://example.com:{port}\\@127.0.0.1:{port}/",
    "ftp://127.0.0.1:{port}/",
    "gopher://127.0.0.1:{port}/_x",
    "file:///etc/passwd",
    "http://127.0.0.1:{port} /",
)


def by_form(port: int, scheme: str = "http") -> list[str]:
    """Every URL that must be refused before any DNS lookup."""
    urls = [f"{scheme}://{host}:{port}/hook" for host in HOSTS]
    return urls + [u.format(port=port) for u in URLS]


def by_address(port: int, scheme: str = "http") -> list[str]:
    """Hostnames acceptable by form: this machine's name (in /etc/hosts, usually a
    loopback or private address) and a name that cannot resolve."""
    return [f"{scheme}://{name}:{port}/hook" for name in (socket.gethostname(), "nowhere.invalid")]
