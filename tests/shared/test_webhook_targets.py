"""Webhook URLs that reach inside the network are refused, for every kind of address, unless an
operator allows them; names are judged by what they resolve to."""

from __future__ import annotations

import pytest

from shared.errors import TargetRefused
from shared.webhook_targets import TargetPolicy, Unresolved


def resolving(table: dict[str, list[str]]) -> TargetPolicy:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"{host}: Name or service not known")
        return table[host]

    return TargetPolicy((), resolve)


PUBLIC = resolving(
    {"ioc.thainguyen.gov.vn": ["203.113.131.10"], "dual.example": ["2001:ee0:4141::1"]}
)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:9000/hook", "loopback"),
        ("http://127.8.9.10/hook", "loopback"),
        ("http://[::1]:8080/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://172.16.0.5/hook", "private"),
        ("http://192.168.1.20/hook", "private"),
        ("http://[fd12:3456::1]/hook", "private"),
        ("http://169.254.10.1/hook", "link-local"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00:ec2::254]/", "cloud metadata"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),  # IPv4 written as IPv6
        ("http://0.0.0.0:8000/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://100.64.1.1/hook", "non-public"),  # carrier-grade NAT
        ("http://240.0.0.1/hook", "reserved"),
    ],
)
async def test_an_internal_address_is_refused(url: str, kind: str) -> None:
    with pytest.raises(TargetRefused, match=f"is a {kind} address"):
        await PUBLIC.check(url)


@pytest.mark.parametrize(
    ("name", "addresses", "kind"),
    [
        ("localhost", ["127.0.0.1", "::1"], "loopback"),
        ("db.internal", ["10.0.0.7"], "private"),
        ("rebind.example", ["203.113.131.10", "192.168.0.2"], "private"),  # any one refuses
        ("metadata.internal.example", ["169.254.169.254"], "cloud metadata"),
    ],
)
async def test_a_name_is_judged_by_every_address_it_resolves_to(
    name: str, addresses: list[str], kind: str
) -> None:
    policy = resolving({name: addresses})
    with pytest.raises(TargetRefused, match=f"{name} resolves to .*, which is a {kind} address"):
        await policy.check(f"https://{name}/hook")


async def test_the_metadata_services_names_are_refused_without_asking_dns() -> None:
    with pytest.raises(TargetRefused, match="cloud metadata service"):
        await resolving({}).check("http://metadata.google.internal/computeMetadata/v1/")


async def test_public_receivers_are_accepted() -> None:
    await PUBLIC.check("https://ioc.thainguyen.gov.vn/hooks/chiso766")
    await PUBLIC.check("http://203.113.131.10:8443/hook")
    await PUBLIC.check("https://dual.example/hook")


async def test_an_operator_allows_hosts_and_networks() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return {"ioc.local": ["10.20.0.5"], "other.local": ["10.30.0.1"]}[host]

    policy = TargetPolicy(["ioc.local", "127.0.0.1", "10.20.0.0/16"], resolve)
    await policy.check("http://ioc.local/hook")  # allowed by name, not resolved
    await policy.check("http://127.0.0.1:9000/hook")
    await policy.check("http://10.20.9.9/hook")
    with pytest.raises(TargetRefused):
        await policy.check("http://other.local/hook")  # 10.30/16 is not allowed
    with pytest.raises(TargetRefused):
        await policy.check("http://127.0.0.2/hook")


async def test_a_name_that_does_not_resolve_says_so() -> None:
    with pytest.raises(Unresolved, match=r"nowhere\.example does not resolve"):
        await PUBLIC.check("https://nowhere.example/hook")
