"""Write sample CSV drops (and matching JSON events) with injected defects.

Each drop file covers a later slice of time than the one before, uses its own header
style (Title Case or snake_case, sometimes reordered, sometimes with an extra column)
and its own date convention, like files from different exporters. Defects are drawn
per line at ``defect_rate``; a ``manifest.json`` beside the files tells what was
injected so tests can check the pipeline against it.
"""

from __future__ import annotations

import csv
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from salespipe.contract.rules import DAY_FIRST, ISO_DATE, MONTH_FIRST, DateFormat
from salespipe.contract.schema import field_names
from salespipe.generate.catalogue import (
    LOCATIONS,
    PRODUCTS,
    Change,
    Location,
    Product,
    build_changes,
    build_customers,
)

START = date(2023, 1, 1)
END = date(2024, 12, 31)
SHIP_MODES = (
    ("Standard Class", 4, 7),
    ("Second Class", 2, 5),
    ("First Class", 1, 3),
    ("Same Day", 0, 0),
)
PRIORITIES = ("Critical", "High", "Medium", "Low")
DISCOUNTS = (0, 0, 0, 0, 1000, 1500, 2000, 3000, 5000, 7000)
"""Discounts in 1/10000: most lines carry none."""

DEFECTS = (
    "duplicate",
    "correction",
    "missing_required",
    "invalid_date",
    "ambiguous_date",
    "negative_quantity",
    "discount_over_one",
    "malformed_line",
)
"""What a defective line can be; drawn uniformly."""

_TITLE = {
    "row_id": "Row ID",
    "order_id": "Order ID",
    "order_date": "Order Date",
    "ship_date": "Ship Date",
    "ship_mode": "Ship Mode",
    "customer_id": "Customer ID",
    "customer_name": "Customer Name",
    "sub_category": "Sub-Category",
    "product_id": "Product ID",
    "product_name": "Product Name",
    "shipping_cost": "Shipping Cost",
    "order_priority": "Order Priority",
    "postal_code": "Postal Code",
}


def title_case(name: str) -> str:
    """The Title Case header a source system sends for a canonical name."""
    return _TITLE.get(name) or name.replace("_", " ").title()


def _money(e4: int) -> str:
    """1/10000 units as a decimal string with 2 or 4 places, as exports write them."""
    sign = "-" if e4 < 0 else ""
    whole, frac = divmod(abs(e4), 10000)
    text = f"{frac:04d}"
    return f"{sign}{whole}.{text[:2] if text[2:] == '00' else text}"


@dataclass
class GenerationReport:
    """What was written: files, line counts and the defects injected by kind."""

    out_dir: str
    files: list[str] = field(default_factory=list)
    lines: int = 0
    events: int = 0
    defects: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, object]:
        return {
            "out_dir": self.out_dir,
            "files": self.files,
            "lines": self.lines,
            "events": self.events,
            "defects": dict(sorted(self.defects.items())),
        }


@dataclass
class _Line:
    text: dict[str, str]
    """Canonical name -> rendered text, for every field but the two dates."""
    order_date: date
    ship_date: date | None
    quantity: int
    sales_e4: int


class _Synth:
    """Draws order lines over time, applying catalogue changes as they take effect."""

    def __init__(self, rng: random.Random, rows: int) -> None:
        self.rng = rng
        self.customers = build_customers(rng, max(50, min(20000, rows // 15)))
        self.changes = build_changes(rng, START, END)
        self.products: dict[str, Product] = {p.product_id: p for p in PRODUCTS}
        self.locations: list[Location] = list(LOCATIONS)
        self.product_ids = list(self.products)
        self.row_id = 0
        self.order_no = 100000

    def _apply_changes(self, today: date) -> None:
        while self.changes and self.changes[0].effective <= today:
            change: Change = self.changes.pop(0)
            if change.product:
                self.products[change.product.product_id] = change.product
            if change.location:
                index = next(
                    i
                    for i, loc in enumerate(self.locations)
                    if (loc.country, loc.state, loc.city)
                    == (change.location.country, change.location.state, change.location.city)
                )
                self.locations[index] = change.location

    def order(self, day: date) -> Iterator[_Line]:
        """One order placed on ``day``: 1 to 5 lines, rarely the same product twice."""
        rng = self.rng
        self._apply_changes(day)
        self.order_no += rng.randint(1, 7)
        location = rng.choice(self.locations)
        customer = rng.choice(self.customers)
        mode, low, high = rng.choices(SHIP_MODES, weights=(6, 2, 2, 1))[0]
        ship: date | None = day + timedelta(days=rng.randint(low, high))
        if rng.random() < 0.02:
            ship = None  # not shipped yet: ship_date is optional
        order_id = f"{location.market}-{day.year}-{self.order_no}"
        priority = rng.choices(PRIORITIES, weights=(1, 3, 5, 1))[0]
        products = [self.products[pid] for pid in rng.sample(self.product_ids, rng.randint(1, 5))]
        if len(products) > 1 and rng.random() < 0.05:
            products.append(products[0])  # same product again, another quantity
        head = {
            "order_id": order_id,
            "ship_mode": mode,
            "customer_id": customer.customer_id,
            "customer_name": customer.name,
            "segment": customer.segment,
            "city": location.city,
            "state": location.state,
            "country": location.country,
            "postal_code": location.postal_code or "",
            "market": location.market,
            "region": location.region,
            "order_priority": priority,
        }
        for product in products:
            self.row_id += 1
            quantity = rng.randint(1, 9)
            discount = rng.choice(DISCOUNTS)
            sales = product.unit_price_e4 * quantity * (10000 - discount) // 10000
            margin = rng.randint(-4000, 4500)
            text = dict(head)
            text.update(
                row_id=str(self.row_id),
                product_id=product.product_id,
                category=product.category,
                sub_category=product.sub_category,
                product_name=product.name,
                sales=_money(sales),
                quantity=str(quantity),
                discount=_money(discount),
                profit=_money(sales * margin // 10000),
                shipping_cost=_money(sales * rng.randint(200, 1500) // 10000),
            )
            yield _Line(text, day, ship, quantity, sales)


@lru_cache(maxsize=8192)
def _format_date(value: date, fmt: DateFormat) -> str:
    if fmt is ISO_DATE:
        return value.isoformat()
    if fmt is DAY_FIRST:
        return f"{value.day:02d}-{value.month:02d}-{value.year}"
    return f"{value.month:02d}/{value.day:02d}/{value.year}"


def _render(line: _Line, fmt: DateFormat) -> dict[str, str]:
    row = dict(line.text)
    row["order_date"] = _format_date(line.order_date, fmt)
    row["ship_date"] = _format_date(line.ship_date, fmt) if line.ship_date else ""
    return row


def _other_convention(value: date, fmt: DateFormat) -> str:
    """A date in the convention the file does not use, with day and month <= 12."""
    swapped = value.replace(day=min(value.day, 12))
    other = MONTH_FIRST if fmt is DAY_FIRST else DAY_FIRST
    return _format_date(swapped, other)


class _Defects:
    """Turns a clean rendered line into a defective one, by kind."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def apply(self, kind: str, row: dict[str, str], line: _Line, fmt: DateFormat) -> None:
        rng = self.rng
        if kind == "missing_required":
            row[rng.choice(("customer_id", "product_id", "order_date", "sales"))] = ""
        elif kind == "invalid_date":
            row["order_date"] = rng.choice(("2024-02-30", "31/31/2024", "yesterday", "2023-13-01"))
        elif kind == "ambiguous_date":
            row["order_date"] = _other_convention(line.order_date, fmt)
            row["ship_date"] = ""
        elif kind == "negative_quantity":
            row["quantity"] = str(-rng.randint(1, 5))
        elif kind == "discount_over_one":
            row["discount"] = rng.choice(("1.5", "2", "15"))


class _Lines:
    """Draws the next rendered line of a drop: a new line, or a defect of some kind."""

    RECENT = 5000
    """Clean lines remembered for re-deliveries and corrections."""

    def __init__(self, rng: random.Random, rows: int, defect_rate: float) -> None:
        self.rng = rng
        self.rows = rows
        self.defect_rate = defect_rate
        self.synth = _Synth(rng, rows)
        self.defects = _Defects(rng)
        self.recent: list[_Line] = []
        self.pending: Iterator[_Line] = iter(())
        self.span = (END - START).days

    def next(self, written: int, fmt: DateFormat) -> tuple[dict[str, str], str | None]:
        """The next line rendered in ``fmt``, and its defect kind (None when clean)."""
        rng = self.rng
        kind = rng.choice(DEFECTS) if rng.random() < self.defect_rate else None
        if kind in ("duplicate", "correction"):
            if self.recent:
                return self._again(kind, fmt), kind
            kind = None
        line = next(self.pending, None)
        if line is None:
            day = START + timedelta(days=min(self.span, self.span * written // self.rows))
            self.pending = self.synth.order(day)
            line = next(self.pending)
        row = _render(line, fmt)
        if kind:
            self.defects.apply(kind, row, line, fmt)
        elif len(self.recent) < self.RECENT:
            self.recent.append(line)
        else:
            self.recent[rng.randrange(self.RECENT)] = line
        return row, kind

    def _again(self, kind: str, fmt: DateFormat) -> dict[str, str]:
        """A line sent before: identical (re-delivery) or with a new quantity."""
        old = self.rng.choice(self.recent)
        row = _render(old, fmt)
        if kind == "correction":
            quantity = old.quantity + self.rng.randint(1, 3)
            row["quantity"] = str(quantity)
            row["sales"] = _money(old.sales_e4 // old.quantity * quantity)
        return row


def _header(rng: random.Random, index: int) -> tuple[list[str], list[str], DateFormat]:
    """Drop ``index``'s canonical column order, its header line and date format:
    exporters differ in case, order, extra columns and date conventions."""
    fmt = (ISO_DATE, DAY_FIRST, MONTH_FIRST)[index % 3]
    title = index % 2 == 0
    columns = field_names()
    if index % 4 == 3:
        rng.shuffle(columns)
    header = [title_case(c) if title else c for c in columns]
    if index % 5 == 4:
        header.append("Export Batch" if title else "export_batch")
    return columns, header, fmt


def generate(
    rows: int,
    seed: int,
    out_dir: Path,
    defect_rate: float = 0.02,
    *,
    files: int | None = None,
    events: int = 0,
    progress: Callable[[int], None] | None = None,
) -> GenerationReport:
    """Write ``rows`` CSV lines over ``files`` drops (and ``events`` JSON events).

    Deterministic for a seed: the same arguments write byte-identical files.
    """
    if rows < 1:
        raise ValueError("rows must be at least 1")
    if not 0 <= defect_rate <= 1:
        raise ValueError("defect rate must be within [0, 1]")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    lines = _Lines(rng, rows, defect_rate)
    n_files = files or max(2, min(50, rows // 200_000 + 1))
    report = GenerationReport(str(out_dir))
    per_file = -(-rows // n_files)
    written = 0
    for index in range(n_files):
        columns, header, fmt = _header(rng, index)
        extra = [f"B{index:04d}"] if len(header) > len(columns) else []
        path = out_dir / f"sales_{seed}_{index + 1:03d}.csv"
        target = min(rows, written + per_file)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            while written < target:
                chunk = []
                for _ in range(min(10_000, target - written)):
                    row, kind = lines.next(written, fmt)
                    values = [row[c] for c in columns] + extra
                    if kind == "malformed_line":
                        values = values[:-3]  # a truncated export line: too few fields
                    if kind:
                        report.defects[kind] += 1
                    chunk.append(values)
                    written += 1
                writer.writerows(chunk)
                if progress:
                    progress(len(chunk))
        report.files.append(str(path))
    report.lines = written
    if events:
        path = out_dir / "events" / f"sales_events_{seed}.jsonl"
        report.events = _write_events(path, lines, events, report.defects)
    (out_dir / "manifest.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return report


def _write_events(path: Path, lines: _Lines, count: int, defects: Counter[str]) -> int:
    """Sales events: the canonical fields (ISO dates, decimals as strings) plus
    ``event_id`` and ``event_time``; re-deliveries repeat an event_id, corrections
    repeat a line key with a later ``event_time``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    synth, rng, defect_rate = lines.synth, lines.rng, lines.defect_rate
    base = datetime(2025, 1, 1, tzinfo=UTC)
    sent: list[dict[str, object]] = []
    with path.open("w", encoding="utf-8") as handle:
        for n in range(count):
            kind = (
                rng.choice(("duplicate_event", "correction_event", "malformed_event"))
                if sent and rng.random() < defect_rate
                else None
            )
            if kind == "malformed_event":
                handle.write('{"order_id": "broken", "sales": \n')
            elif kind == "duplicate_event":
                handle.write(json.dumps(rng.choice(sent)) + "\n")
            else:
                if kind == "correction_event":
                    event = dict(rng.choice(sent))
                    event["quantity"] = int(event["quantity"]) + 1  # type: ignore[call-overload]
                else:
                    line = next(synth.order(END + timedelta(days=1 + n // 1000)))
                    event = dict(_render(line, ISO_DATE))
                    event["row_id"] = int(line.text["row_id"])
                    event["quantity"] = line.quantity
                    for name in ("ship_date", "postal_code"):
                        if event[name] == "":
                            event[name] = None
                event["event_id"] = str(uuid.UUID(int=rng.getrandbits(128)))
                event["event_time"] = (base + timedelta(milliseconds=10 * n)).isoformat()
                sent.append(event)
                handle.write(json.dumps(event) + "\n")
            if kind:
                defects[kind] += 1
    return count
