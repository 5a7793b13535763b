"""The outbound policy, pure: which hosts spell which address, which are public."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rankion_core.outbound import (
    NOT_PUBLIC,
    address_problem,
    fold_host,
    host_address,
    host_problem,
    is_public,
    name_problem,
    url_problem,
)
from tests.support.outbound_corpus import by_address, by_form

PORT = 8099


@pytest.mark.parametrize("url", by_form(PORT) + by_form(PORT, "https"))
def test_every_spelling_of_a_non_public_target_is_refused_by_form(url: str) -> None:
    assert url_problem(url, allow_private=False) is not None


@pytest.mark.parametrize("url", by_address(PORT))
def test_hostnames_pass_the_form_check(url: str) -> None:
    assert url_problem(url, allow_private=False) is None


def test_the_corpus_is_large_enough() -> None:
    assert len(by_form(PORT)) + len(by_address(PORT)) >= 60


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("1.2.3", "1.2.0.3"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("8.8.8.8.", "8.8.8.8"),
        ("[::1]", "::1"),
        ("fe80::1%25eth0", "fe80::1"),
        ("\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11", "127.0.0.1"),
        ("\u0967\u0968\u096d.\u0966.\u0966.\u0967", "127.0.0.1"),
        ("\u2460\u2461\u2466\u3002\u24ea\u3002\u24ea\u3002\u2460", "127.0.0.1"),
    ],
)
def test_numeric_hosts_spell_their_address(host: str, address: str) -> None:
    assert host_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.com", "bücher.de", "0x1g", "1.2.3.example", "vm"])
def test_names_spell_no_address(host: str) -> None:
    assert host_address(host) is None


@pytest.mark.parametrize(
    "host", ["256.0.0.1", "1.2.3.4.5", "08.0.0.1", "1..2", "0x100000000", "1.16777216", "[::g]"]
)
def test_malformed_numeric_hosts_are_refused(host: str) -> None:
    with pytest.raises(ValueError):
        host_address(host)
    assert host_problem(host, allow_private=True) is not None


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.31.255.255", "192.168.0.10", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.2.1",
        "::1", "::", "fc00::1", "fe80::1%eth0", "ff02::1", "2001:db8::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "2002:7f00:1::",
        "2002:a00:1::", "64:ff9b::a00:1", "64:ff9b:1::808:808",
        "2001:0:4136:e378:8000:63bf:80ff:fffe", "not-an-ip",
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert address_problem(address) is not None


@pytest.mark.parametrize(
    "address", ["20.60.1.1", "8.8.8.8", "2603:1030::1", "::ffff:8.8.8.8", "64:ff9b::808:808",
                "2002:808:808::1"],
)  # fmt: skip
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(address) is None


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_ipv4_spelling_agrees(number: int) -> None:
    ip = ipaddress.IPv4Address(number)
    octets = ip.packed
    fullwidth = str(ip).translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    spellings = [
        str(number),
        hex(number),
        ".".join(f"0{b:o}" for b in octets),
        f"{octets[0]}.{int.from_bytes(octets[1:], 'big')}",
        fullwidth,
        str(ip).replace(".", "\u3002"),
        f"[::ffff:{ip}]",
    ]
    for spelling in spellings:
        found = host_address(spelling)
        assert found is not None
        assert is_public(found) == is_public(ip), spelling
        assert (host_problem(spelling, allow_private=False) is None) == is_public(ip), spelling


def test_private_targets_pass_when_allowed_but_credentials_and_schemes_never() -> None:
    assert url_problem("http://127.0.0.1:8/x", allow_private=True) is None
    assert url_problem("http://localhost/x", allow_private=True) is None
    assert url_problem("http://x@127.0.0.1/", allow_private=True) is not None
    assert url_problem("ftp://10.0.0.1/", allow_private=True) is not None


def test_an_ip_may_be_refused_even_when_public() -> None:
    assert host_problem("8.8.8.8", allow_private=False) is None
    assert host_problem("8.8.8.8", allow_private=False, allow_ip=False) is not None


def test_the_refusal_names_no_port_or_address() -> None:
    assert url_problem("http://10.0.0.1:22/", allow_private=False) == NOT_PUBLIC
    assert url_problem("http://10.0.0.1:23/", allow_private=False) == NOT_PUBLIC


def test_folding() -> None:
    assert fold_host("[FE80::1]") == "fe80::1"
    assert fold_host("Ex\u00adample.COM.") == "example.com"


@pytest.mark.parametrize(
    "host",
    [
        "a..b", ".a.com", "xn--", "xn--zz", "xn--abc-", f"{'a' * 64}.com", "-a.com", "a-.com",
        "a_b.com", "a b.com", "a%2eb", "a.com..", "a*.com", "\u2603\u2603..net",
        ".".join(["a" * 63] * 4), ".".join(["a" * 50] * 5),
    ],
)  # fmt: skip
def test_a_host_that_is_no_valid_dns_name_is_refused(host: str) -> None:
    assert name_problem(host) is not None
    assert host_problem(host, allow_private=True) is not None
    assert url_problem(f"http://{host}/x", allow_private=True) is not None


@pytest.mark.parametrize(
    "host",
    [
        "example.com", "example.com.", "EXAMPLE.com", "a-b.example", "1.2.3.example", "vm",
        "b\u00fccher.de", "xn--bcher-kva.de", "\u2603.net", "ex\u00adample.com",
        f"{'a' * 63}.com", ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61]),
    ],
)  # fmt: skip
def test_valid_dns_names_pass(host: str) -> None:
    assert name_problem(host) is None
    assert url_problem(f"https://{host}/x", allow_private=False) is None


def test_port_0_is_refused_and_every_other_port_passes() -> None:
    assert url_problem("http://1.1.1.1:0/", allow_private=True) is not None
    assert url_problem("https://example.com:00/", allow_private=True) is not None
    assert url_problem("http://1.1.1.1:1/", allow_private=False) is None
    assert url_problem("http://1.1.1.1:65535/", allow_private=False) is None
