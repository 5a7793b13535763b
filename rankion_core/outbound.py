"""Where the product may send requests: the pure policy for outbound URLs.

Webhook deliveries and the fetch of a provider's image URL both go through it (the
``rankion_outbound`` adapter applies it after the HTTP client's own normalisation of
the host, and again to every address a connection is actually made to).

* An address is *public* when it is global unicast. An IPv6 address that carries an
  IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) is judged by the IPv4 address it
  carries as well, so ``::ffff:127.0.0.1`` and ``2002:7f00:1::`` are loopback.
* A host *spells* an address in every form a resolver or an HTTP client may read as
  one: dotted quads, ``127.1``, ``2130706433``, ``0x7f.1``, ``0177.0.0.1``, bracketed
  IPv6 with or without a zone id, and all of these written with digits and full stops
  of other scripts (fullwidth, circled, Arabic-Indic or Devanagari digits; ideographic,
  fullwidth and halfwidth full stops).
  A host whose last label is numeric but is no valid address is malformed.
* ``localhost`` and every ``*.localhost`` name are loopback by definition (RFC 6761).
* Any other host must be a valid DNS name (RFC 1123, with IDNA): labels of 1 to 63
  letters, digits and inner hyphens once IDNA-encoded, a valid punycode ``xn--``
  label, at most 253 characters in all, one trailing dot at most. The port, when
  given, is 1 to 65535.

The functions return a problem (a phrase that completes "the URL …") or ``None``;
the callers turn it into their own error.
"""

from __future__ import annotations

import encodings.idna
import ipaddress
import re
import unicodedata
from collections.abc import Collection
from urllib.parse import urlsplit

from .rules.text import WHITE_SPACE

__all__ = [
    "HTTP_SCHEMES",
    "HTTP_URL_PATTERN",
    "NOT_PUBLIC",
    "URL_MAX",
    "Address",
    "address_problem",
    "embedded_ipv4",
    "fold_host",
    "host_address",
    "host_problem",
    "is_public",
    "name_problem",
    "url_problem",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

HTTP_SCHEMES: tuple[str, ...] = ("http", "https")


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" for c in word)


#: the form ``url_problem`` asks of an http(s) URL, as a JSON Schema (ECMA-262) pattern:
#: a scheme in any case, a non-empty authority without credentials, and no white space,
#: control character or backslash anywhere. What only the host can tell (a private
#: address, a bad port) is left to ``url_problem``.
HTTP_URL_PATTERN = (
    f"^(?:{'|'.join(_any_case(s) for s in HTTP_SCHEMES)})://"
    rf"[^{WHITE_SPACE}\x00-\x1f\\@/?#]+(?:[/?#][^{WHITE_SPACE}\x00-\x1f\\]*)?$"
)
URL_MAX = 2000
NOT_PUBLIC = "points at a private, loopback or link-local address"

#: full stops that IDNA (UTS 46) maps to "."
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
#: the well-known NAT64 prefix, then the local-use one (a local translator: never public)
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_HEX = frozenset("0123456789abcdef")
#: a DNS label as RFC 1123 allows it in a host name (letters, digits, inner hyphens)
_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_NAME_MAX = 253
_ACE = "xn--"


class _Malformed(ValueError):
    """A host that looks numeric but is no address."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv4-mapped, 6to4, Teredo or NAT64 address carries."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if any(ip in net for net in _NAT64):
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)
    return []


def _global_unicast(ip: Address) -> bool:
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def is_public(ip: Address) -> bool:
    """Whether ``ip`` is a public unicast address, whatever IPv4 address it carries."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        carried = embedded_ipv4(ip)
        if carried:
            if not all(_global_unicast(v4) for v4 in carried):
                return False
            # a mapped or NAT64 address is only a way of writing the IPv4 address
            if ip.ipv4_mapped is not None or ip in _NAT64[0]:
                return True
    return _global_unicast(ip)


def address_problem(address: str) -> str | None:
    """Why a connection to ``address`` (an IP, as a resolver answers) is refused."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"{address!r} is not an IP address"
    return None if is_public(ip) else f"{NOT_PUBLIC} ({ip})"


def _fold(host: str) -> str:
    folded = unicodedata.normalize("NFKC", host).lower().translate(_DOTS)
    folded = "".join(_fold_char(c) for c in folded)
    if folded.startswith("[") and folded.endswith("]"):
        folded = folded[1:-1]
    return folded


def fold_host(host: str) -> str:
    """``host`` as compared here: NFKC, lower case, decimal digits of every script as
    ASCII digits, the full stops IDNA maps as ".", no invisible format characters, no
    brackets, no trailing dots."""
    return _fold(host).rstrip(".")


def _fold_char(c: str) -> str:
    if c.isascii():
        return c
    if unicodedata.category(c) == "Cf":  # invisible: soft hyphen, zero-width joiners…
        return ""
    digit = unicodedata.decimal(c, None)
    return c if digit is None else str(digit)


def _ipv4_part(part: str) -> int:
    if part[:2] == "0x":
        digits = part[2:]
        if not set(digits) <= _HEX:
            raise _Malformed(part)
        return int(digits, 16) if digits else 0
    if not (part.isascii() and part.isdigit()):
        raise _Malformed(part)
    if len(part) > 1 and part[0] == "0":
        if not set(part) <= set("01234567"):
            raise _Malformed(part)
        return int(part, 8)
    return int(part)


def _numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address of a numeric IPv4 host in the forms ``inet_aton`` and browsers accept
    (1 to 4 parts, each decimal, octal or hex, the last filling the remaining bytes);
    ``None`` when the last label is not numeric (a name)."""
    parts = host.split(".")
    last = parts[-1]
    if not (last.isascii() and (last.isdigit() or (last[:2] == "0x" and set(last[2:]) <= _HEX))):
        return None
    if len(parts) > 4 or not all(parts):
        raise _Malformed(host)
    values = [_ipv4_part(p) for p in parts]
    if any(v > 255 for v in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise _Malformed(host)
    number = values[-1]
    for index, value in enumerate(values[:-1]):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def host_address(host: str) -> Address | None:
    """The IP address ``host`` spells in any form, or ``None`` for a name.

    Raises ``ValueError`` for a host that looks like an address but is none."""
    folded = fold_host(host)
    if ":" in folded:
        try:
            return ipaddress.ip_address(folded.split("%", 1)[0].split("%25", 1)[0])
        except ValueError:
            raise _Malformed(host) from None
    return _numeric_ipv4(folded) if folded else None


def _ace_label(label: str) -> str | None:
    """``label`` IDNA-encoded (ASCII as is), or ``None`` when it has no valid encoding:
    empty, longer than 63, or an ``xn--`` label that is no valid punycode."""
    try:
        if label.isascii():
            if label.startswith(_ACE):
                encodings.idna.ToUnicode(label)  # raises unless it round-trips
            return label if 0 < len(label) <= 63 else None
        return encodings.idna.ToASCII(label).decode("ascii")
    except UnicodeError:
        return None


def name_problem(host: str) -> str | None:
    """Why ``host``, a name (not an address), is no valid DNS host name."""
    name = _fold(host)
    labels = (name[:-1] if name.endswith(".") else name).split(".")
    encoded = [_ace_label(label) for label in labels]
    if any(a is None or not _LDH_LABEL.fullmatch(a) for a in encoded):
        return (
            "has a malformed host name (each label 1 to 63 letters, digits or inner"
            " hyphens, as IDNA encodes it)"
        )
    if len(".".join(a for a in encoded if a)) > _NAME_MAX:
        return f"has a host name longer than {_NAME_MAX} characters"
    return None


def host_problem(host: str | None, *, allow_private: bool, allow_ip: bool = True) -> str | None:
    """Why a URL with this host (as written, or as the HTTP client normalised it) is
    refused by its form."""
    if not host or not fold_host(host):
        return "has no host"
    folded = fold_host(host)
    try:
        ip = host_address(folded)
    except ValueError:
        return "has a malformed numeric or IPv6 host"
    if ip is None:
        bad_name = name_problem(host)
        if bad_name is not None:
            return bad_name
        loopback = folded in _LOOPBACK_NAMES or folded.endswith(".localhost")
        return NOT_PUBLIC if loopback and not allow_private else None
    if not allow_ip:
        return "must name a host, not an IP address"
    if not allow_private and not is_public(ip):
        return NOT_PUBLIC
    return None


def url_problem(
    url: str,
    *,
    allow_private: bool,
    schemes: Collection[str] = HTTP_SCHEMES,
    allow_ip: bool = True,
) -> str | None:
    """Why ``url`` may not be requested, judged by its form alone (no DNS)."""
    if len(url) > URL_MAX or any(c.isspace() or ord(c) < 32 or c == "\\" for c in url):
        return f"must be at most {URL_MAX} characters without spaces or backslashes"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a bad port
    except ValueError:
        return "cannot be parsed"
    if port == 0:
        return "has port 0 (a port is 1 to 65535)"
    if parts.scheme.lower() not in schemes:
        return "must start with " + " or ".join(f"{s}://" for s in schemes)
    if "@" in parts.netloc:
        return "must not carry credentials"
    return host_problem(parts.hostname, allow_private=allow_private, allow_ip=allow_ip)
