#!/usr/bin/env python3
"""Generates the SPF benchmark's zone and its evaluation inputs.

The zone models what receivers meet in practice: thousands of sender domains whose SPF records
include a handful of shared provider records (a three-level tree like a large mailbox platform,
flat ESP lists, an exists:%{i} macro provider, a redirect to a hosted record), plus their own
ip4/a/mx terms. About 2% of the domains go over the 10-lookup limit and about 2% include a name
that no longer exists, as real audits find. Every name is under the zone origin (a reserved
.example name), so nothing here can leak to the real DNS.

The evaluations form a mail stream: every domain once first (the cold pass, where every answer
comes from the server), then --stream more messages whose sender domains follow a Zipf law, as
a receiver's traffic does (a few domains send most of the mail). Each message comes from one of
its domain's legitimate sources or, 30% of the time, from a stranger.

Output: <out>/bench.zone (master file), <out>/inputs.txt ("ip sender helo" per line),
<out>/manifest.json (counts). Deterministic for a given --seed.
"""
import argparse
import ipaddress
import json
import random
from pathlib import Path

ORIGIN = "spfbench.example"


def net4(rng: random.Random) -> ipaddress.IPv4Network:
    return ipaddress.ip_network(f"{rng.choice([x for x in range(11, 223) if x != 127])}.{rng.randrange(256)}.{rng.randrange(256)}.0/24")


def net6(rng: random.Random) -> ipaddress.IPv6Network:
    return ipaddress.ip_network(f"2001:db8:{rng.randrange(65536):x}:{rng.randrange(65536):x}::/64")


def txt(name: str, text: str) -> str:
    parts = [text[i:i + 250] for i in range(0, len(text), 250)] or [""]
    return f'{name}. 3600 IN TXT ' + " ".join('"' + p.replace('"', '\\"') + '"' for p in parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domains", type=int, default=3000)
    ap.add_argument("--stream", type=int, default=27000,
                    help="messages after the cold pass (Zipf-distributed sender domains)")
    ap.add_argument("--seed", type=int, default=7208)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    o = ORIGIN
    lines = [f"$ORIGIN {o}.", "$TTL 3600",
             f"@ 3600 IN SOA ns.{o}. hostmaster.{o}. 1 3600 600 86400 300",
             f"@ 3600 IN NS ns.{o}.", f"ns.{o}. 3600 IN A 127.0.0.1"]
    # Shared providers: name -> (include target, list of networks a sender may use)
    providers: dict[str, tuple[str, list]] = {}

    # A mailbox platform: include tree three lookups deep in total.
    blocks = []
    nets_all = []
    for k in range(1, 4):
        nets = [net4(rng) for _ in range(8)] + [net6(rng) for _ in range(4)]
        nets_all += nets
        name = f"_netblocks{k}.platform.{o}"
        blocks.append(name)
        lines.append(txt(name, "v=spf1 " + " ".join(
            (f"ip4:{n}" if n.version == 4 else f"ip6:{n}") for n in nets) + " ~all"))
    lines.append(txt(f"_spf.platform.{o}", "v=spf1 " + " ".join(f"include:{b}" for b in blocks) + " ~all"))
    providers["platform"] = (f"_spf.platform.{o}", nets_all)

    # Flat ESP lists, one lookup each.
    for esp in ("office", "grid", "chimp", "gun", "mark", "spark"):
        nets = [net4(rng) for _ in range(rng.randrange(6, 20))] + [net6(rng) for _ in range(2)]
        lines.append(txt(f"spf.{esp}.{o}", "v=spf1 " + " ".join(
            (f"ip4:{n}" if n.version == 4 else f"ip6:{n}") for n in nets) + " -all"))
        providers[esp] = (f"spf.{esp}.{o}", nets)

    # An ESP with a nested regional include, and a helpdesk with two.
    ses_nets = [net4(rng) for _ in range(10)]
    lines.append(txt(f"_spf-east.ses.{o}", "v=spf1 " + " ".join(f"ip4:{n}" for n in ses_nets[5:]) + " -all"))
    lines.append(txt(f"spf.ses.{o}", "v=spf1 " + " ".join(f"ip4:{n}" for n in ses_nets[:5])
                     + f" include:_spf-east.ses.{o} -all"))
    providers["ses"] = (f"spf.ses.{o}", ses_nets)
    desk_nets = [net4(rng) for _ in range(6)]
    lines.append(txt(f"_spf1.desk.{o}", "v=spf1 " + " ".join(f"ip4:{n}" for n in desk_nets[:3]) + " ~all"))
    lines.append(txt(f"_spf2.desk.{o}", "v=spf1 " + " ".join(f"ip4:{n}" for n in desk_nets[3:]) + " ~all"))
    lines.append(txt(f"mail.desk.{o}", f"v=spf1 include:_spf1.desk.{o} include:_spf2.desk.{o} ~all"))
    providers["desk"] = (f"mail.desk.{o}", desk_nets)

    # A CRM that authorises single addresses with exists:%{i}.
    crm_hosts = [ipaddress.ip_address(f"198.51.100.{i}") for i in range(1, 60)]
    for ip in crm_hosts:
        lines.append(f"{ip}._i.crm.{o}. 3600 IN A 127.0.0.2")
    lines.append(txt(f"_spf.crm.{o}", f"v=spf1 exists:%{{i}}._i.crm.{o} -all"))
    providers["crm"] = (f"_spf.crm.{o}", [ipaddress.ip_network(f"{h}/32") for h in crm_hosts])

    # A hosted record many domains redirect to.
    hosted_nets = [net4(rng) for _ in range(4)]
    lines.append(txt(f"_spf.hosted.{o}", "v=spf1 " + " ".join(f"ip4:{n}" for n in hosted_nets)
                     + f" include:_spf.platform.{o} -all"))

    names = list(providers)
    inputs = []
    pools = []
    over_limit = dead = 0
    for d in range(args.domains):
        dom = f"d{d:05d}.{o}"
        own = net4(rng)
        mx_ip = own[10]
        lines.append(f"{dom}. 3600 IN MX 10 mx.{dom}.")
        lines.append(f"mx.{dom}. 3600 IN A {mx_ip}")
        lines.append(f"{dom}. 3600 IN A {own[20]}")
        pool = [(own, "own")]
        roll = rng.random()
        if roll < 0.10:
            lines.append(txt(dom, f"v=spf1 redirect=_spf.hosted.{o}"))
            pool += [(n, "hosted") for n in hosted_nets] + [(n, "platform") for n in providers["platform"][1]]
        else:
            chosen = rng.sample(names, rng.randrange(1, 5))
            terms = ["mx"] + [f"include:{providers[p][0]}" for p in chosen]
            if rng.random() < 0.5:
                terms.append("a")
            terms.insert(0, f"ip4:{own}")
            if rng.random() < 0.02:
                terms += [f"include:{providers[p][0]}" for p in names if p not in chosen][:6]
                over_limit += 1
            elif rng.random() < 0.02:
                terms.append(f"include:gone{d}.{o}")
                dead += 1
            terms.append(rng.choice(["~all", "-all", "-all"]))
            lines.append(txt(dom, "v=spf1 " + " ".join(terms)))
            for p in chosen:
                pool += [(n, p) for n in providers[p][1]]
        pools.append((dom, pool))

    def message(d: int) -> str:
        dom, pool = pools[d]
        if rng.random() < 0.7:
            net, _ = rng.choice(pool)
            hosts = net.num_addresses
            ip = net[rng.randrange(hosts)] if hosts > 1 else net[0]
        else:
            ip = ipaddress.ip_address(f"203.0.113.{rng.randrange(1, 255)}")
        return f"{ip} user{rng.randrange(100)}@{dom} mail.{dom}"

    inputs = [message(d) for d in range(args.domains)]
    weights = [1.0 / (rank + 1) for rank in range(args.domains)]
    order = list(range(args.domains))
    rng.shuffle(order)
    inputs += [message(d) for d in rng.choices(order, weights=weights, k=args.stream)]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.zone").write_text("\n".join(lines) + "\n")
    (args.out / "inputs.txt").write_text("\n".join(inputs) + "\n")
    (args.out / "manifest.json").write_text(json.dumps({
        "origin": o, "domains": args.domains, "evaluations": len(inputs), "stream": args.stream,
        "over_limit_domains": over_limit, "dead_include_domains": dead, "seed": args.seed}, indent=1))


if __name__ == "__main__":
    main()
