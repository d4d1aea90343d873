"""Synthetic news corpora with known duplicate clusters, for the runner tests and the scale benchmark.

    python -m tests.support.corpus N OUT_DIR [--seed 7] [--copies 0.3]

Writes N documents as a mix of plain-text page dumps (with menus and related-headline lists), HTML pages
and JSONL lines, and ``truth.json``: each document's story id. A share of the documents (``--copies``)
are syndicated copies of an earlier story: a dateline added, a closing paragraph dropped, a few words
changed, another outlet's boilerplate; their word-shingle Jaccard similarity to the original stays
above 0.75, and unrelated stories stay far below 0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from pathlib import Path

PEOPLE = [
    "Amina Yusuf",
    "Carlos Mendes",
    "Hana Sato",
    "Ivan Petrov",
    "Lena Fischer",
    "Omar Haddad",
    "Priya Nair",
    "Rosa Alvarez",
    "Samuel Okoro",
    "Tomasz Nowak",
    "Wei Zhang",
    "Yara Costa",
    "David Levy",
    "Fatima Bello",
    "Jonas Berg",
    "Mei Lin",
    "Pablo Ruiz",
    "Sara Rossi",
    "Kwame Mensah",
    "Elena Popescu",
]
PLACES = [
    "Kenya",
    "Brazil",
    "Japan",
    "Poland",
    "Germany",
    "Lebanon",
    "India",
    "Mexico",
    "Nigeria",
    "Canada",
    "Nairobi",
    "Lisbon",
    "Osaka",
    "Warsaw",
    "Hamburg",
    "Beirut",
    "Mumbai",
    "Toronto",
    "Lagos",
    "Quito",
]
ORGS = [
    "the World Bank",
    "the United Nations",
    "the European Union",
    "the Red Cross",
    "Reuters",
    "Siemens",
    "the Health Ministry",
    "the Central Bank",
    "the Port Authority",
    "the Football Association",
]
SUBJECTS = [
    "the new railway line",
    "the water supply plan",
    "the budget proposal",
    "the vaccine programme",
    "the port expansion",
    "the election reform",
    "the wind farm project",
    "the school meals scheme",
    "the housing package",
    "the flood defences",
    "the fishing agreement",
    "the data protection law",
]
VERBS = ["approved", "criticised", "delayed", "welcomed", "rejected", "funded", "questioned", "defended", "revised", "announced"]
ADJECTIVES = ["costly", "ambitious", "overdue", "controversial", "modest", "popular", "fragile", "sweeping", "cautious", "urgent"]
NOUNS = ["farmers", "teachers", "nurses", "investors", "residents", "students", "drivers", "traders", "pensioners", "engineers"]
TEMPLATES = [
    "{person} said on {day} that {subject} would cost about {n} million dollars and reach {place} within {m} years.",
    "Officials in {place} {verb} {subject} after a {adjective} debate that lasted until late on {day}.",
    "According to {org}, {n} percent of {noun} in {place} expect {subject} to change their lives.",
    "{person}, who has followed {subject} since {year}, called the decision {adjective} but necessary.",
    "The plan was {verb} by {org} on {day}, a move that {noun} in {place} had demanded for {m} years.",
    "Critics in {place} said {subject} was {adjective}, while {person} argued that {noun} would benefit first.",
    "{org} estimated that {n} thousand {noun} could be affected, and {person} promised a review in {year}.",
    "In {place}, {noun} gathered on {day} to hear {person} explain why {subject} had been {verb}.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MENU = ["Home", "World", "Business", "Sport", "Culture", "Opinion", "Video", "Login"]
PROMPTS = ["Sign up for our daily newsletter", "Share this article", "Leave a comment", "Most read", "Related stories"]


def sentence(rng: random.Random) -> str:
    return rng.choice(TEMPLATES).format(
        person=rng.choice(PEOPLE),
        place=rng.choice(PLACES),
        org=rng.choice(ORGS),
        subject=rng.choice(SUBJECTS),
        verb=rng.choice(VERBS),
        adjective=rng.choice(ADJECTIVES),
        noun=rng.choice(NOUNS),
        day=rng.choice(DAYS),
        n=rng.randint(2, 990),
        m=rng.randint(2, 15),
        year=rng.randint(1995, 2020),
    )


def story(rng: random.Random) -> tuple[str, list[str]]:
    title = f"{rng.choice(PEOPLE).split()[1]} {rng.choice(VERBS)} {rng.choice(SUBJECTS)} in {rng.choice(PLACES)}"
    paragraphs = [" ".join(sentence(rng) for _ in range(rng.randint(2, 4))) for _ in range(rng.randint(6, 10))]
    return title.capitalize(), paragraphs


def syndicate(rng: random.Random, paragraphs: list[str]) -> list[str]:
    """Another outlet's copy: a dateline, the closing paragraph dropped (from long stories), a few words changed."""
    kept = paragraphs[:-1] if len(paragraphs) >= 8 else paragraphs
    copy = [f"{rng.choice(PLACES).upper()} ({rng.choice(['AP', 'AFP', 'Reuters'])}) - {kept[0]}", *kept[1:]]
    swaps = {"said": "stated", "about": "around", "would": "will"}
    i = rng.randrange(len(copy))
    copy[i] = " ".join(swaps.get(word, word) for word in copy[i].split())
    return copy


TEASER = (
    "Live update {number} from {place}: the council has approved the new budget for roads and schools after a "
    "long debate. Read the full story, watch the video and share your view in the comments. Subscribe to our "
    "newsletter for the latest local news every morning."
)


def teaser(number: int, rng: random.Random) -> str:
    """One of a feed's templated teasers: its own number and one of 40 towns, the rest the same. No two share a
    content hash; any two verify as copies (3-gram Jaccard about 0.8)."""
    return TEASER.format(number=number, place=f"Town{rng.randrange(40)}")


def wire_copy(path: Path) -> str:
    """A later wire copy of a document as a run wrote it: its cleaned text, a dateline added and the last
    paragraph dropped (what an append run should find as a duplicate of the earlier article)."""
    from transforms.clean import clean_article
    from transforms.parse import parse_document
    from transforms.read import read_documents

    [raw] = read_documents(str(path), path.read_bytes())
    paragraphs = clean_article(parse_document(raw)).text.split("\n\n")
    return "\n\n".join(["WIRE (AP) - " + paragraphs[0], *paragraphs[1:-1]]) + "\n"


def render(fmt: str, title: str, paragraphs: list[str], outlet: str, published: dt.datetime, rng: random.Random):
    date = published.strftime("%B %d, %Y")
    if fmt == "txt":
        related = [story(rng)[0] for _ in range(6)]
        return "\n".join(
            [
                outlet,
                *rng.sample(MENU, 5),
                date,
                title,
                title,
                "",
                *(p + "\n" for p in paragraphs),
                *rng.sample(PROMPTS, 3),
                *related,
            ]
        )
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    nav = "".join(f'<a href="/{m.lower()}">{m}</a> ' for m in MENU)
    related = "".join(f"<li><a href='/s/{i}'>{story(rng)[0]}</a></li>" for i in range(5))
    html = (
        f'<html lang="en"><head><title>{title} | {outlet}</title><meta property="og:site_name" content="{outlet}">'
        f'<meta property="article:published_time" content="{published.isoformat()}"></head><body><nav>{nav}</nav>'
        f"<article><h1>{title}</h1>{body}</article><aside><ul>{related}</ul></aside>"
        f"<footer>{' | '.join(PROMPTS)}</footer></body></html>"
    )
    if fmt == "html":
        return html
    return json.dumps(
        {
            "url": f"https://{outlet.lower().replace(' ', '')}.example/{rng.getrandbits(40):x}",
            "html": html,
            "source": outlet,
            "published": published.isoformat(),
        }
    )


def generate(n: int, out_dir: Path, seed: int = 7, copies: float = 0.3, jsonl_per_file: int = 50) -> dict[str, str]:
    """Write ``n`` documents under ``out_dir``; returns {document path (or path:line): story id}."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    outlets = ["Daily Ledger", "Evening Post", "Harbour Times", "Metro Wire", "The Courier", "Valley News"]
    start = dt.datetime(2021, 1, 1, 8, tzinfo=dt.UTC)
    stories: list[tuple[str, str, list[str], dt.datetime]] = []
    truth: dict[str, str] = {}
    jsonl_lines: list[str] = []
    for i in range(n):
        if stories and rng.random() < copies:
            story_id, title, paragraphs, published = rng.choice(stories)
            paragraphs = syndicate(rng, paragraphs)
            published = published + dt.timedelta(hours=rng.randint(1, 48))
        else:
            title, paragraphs = story(rng)
            story_id, published = f"s{len(stories):06d}", start + dt.timedelta(hours=rng.randint(0, 24 * 365))
            stories.append((story_id, title, paragraphs, published))
        fmt = rng.choice(["txt", "html", "jsonl"])
        content = render(fmt, title, paragraphs, rng.choice(outlets), published, rng)
        if fmt == "jsonl":
            jsonl_lines.append(content)
            path = out_dir / f"batch-{(len(jsonl_lines) - 1) // jsonl_per_file:05d}.jsonl"
            truth[f"{path}:{(len(jsonl_lines) - 1) % jsonl_per_file + 1}"] = story_id
        else:
            path = out_dir / f"doc-{i:07d}.{fmt}"
            path.write_text(content, encoding="utf-8")
            truth[str(path)] = story_id
    for start_line in range(0, len(jsonl_lines), jsonl_per_file):
        chunk = jsonl_lines[start_line : start_line + jsonl_per_file]
        (out_dir / f"batch-{start_line // jsonl_per_file:05d}.jsonl").write_text("\n".join(chunk) + "\n", encoding="utf-8")
    (out_dir.parent / f"{out_dir.name}.truth.json").write_text(json.dumps(truth, indent=0))
    return truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--copies", type=float, default=0.3)
    args = parser.parse_args()
    truth = generate(args.n, args.out_dir, args.seed, args.copies)
    print(f"{len(truth)} documents, {len(set(truth.values()))} stories, in {args.out_dir}")


if __name__ == "__main__":
    main()
