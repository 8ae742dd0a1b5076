"""Demo catalogue for the embedded default: categories, licences with a key pool each, and some
physical goods. Running it again changes nothing; `--products N` adds generated products (for
benchmarks and query-count checks)."""

import hashlib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from orders.demo_shipping import seed_shipping_methods
from orders.models import Category, LicenceKey, Product, ProductKind
from orders.services.catalogue import bump_catalogue_version

CATEGORIES = [
    ("Operating systems", "operating-systems"),
    ("Office and productivity", "office"),
    ("Security", "security"),
    ("Design and media", "design"),
    ("Accessories", "accessories"),
]

PRODUCTS = [
    # (slug, name, category, kind, price_sen, stock, summary)
    (
        "windows-11-pro",
        "Windows 11 Pro",
        "operating-systems",
        "licence",
        64900,
        0,
        "Retail licence for one PC.",
    ),
    (
        "windows-11-home",
        "Windows 11 Home",
        "operating-systems",
        "licence",
        49900,
        0,
        "Retail licence for one PC.",
    ),
    (
        "office-2024-home",
        "Office Home 2024",
        "office",
        "licence",
        55900,
        0,
        "Word, Excel, PowerPoint for one PC or Mac.",
    ),
    (
        "office-2024-business",
        "Office Home & Business 2024",
        "office",
        "licence",
        119900,
        0,
        "Includes Outlook; commercial use.",
    ),
    (
        "pdf-studio-pro",
        "PDF Studio Pro",
        "office",
        "licence",
        38900,
        0,
        "Edit, sign and OCR PDF files.",
    ),
    (
        "guard-antivirus-3",
        "Guard Antivirus, 3 devices, 1 year",
        "security",
        "licence",
        12900,
        0,
        "Real-time protection for Windows, macOS and Android.",
    ),
    (
        "guard-total-5",
        "Guard Total Security, 5 devices, 1 year",
        "security",
        "licence",
        19900,
        0,
        "Antivirus, VPN and password manager.",
    ),
    (
        "pixelcraft-2026",
        "PixelCraft 2026",
        "design",
        "licence",
        42900,
        0,
        "Photo editing with layers and RAW support.",
    ),
    (
        "cutline-video",
        "Cutline Video Editor",
        "design",
        "licence",
        29900,
        0,
        "4K video editing for creators.",
    ),
    (
        "usb-installer-win11",
        "Windows 11 USB installer (boxed)",
        "accessories",
        "physical",
        8900,
        40,
        "Bootable 32 GB USB drive, shipped by post.",
    ),
    (
        "wireless-keyboard-bm",
        "Wireless keyboard (BM/EN layout)",
        "accessories",
        "physical",
        15900,
        25,
        "Quiet keys, 2.4 GHz and Bluetooth.",
    ),
    (
        "security-key-nfc",
        "Hardware security key (NFC)",
        "accessories",
        "physical",
        21900,
        12,
        "FIDO2 key for two-factor sign-in.",
    ),
]

KEYS_PER_LICENCE = 25


def demo_key(slug: str, n: int) -> str:
    digest = hashlib.sha256(f"{slug}:{n}".encode()).hexdigest().upper()
    return "-".join(digest[i : i + 5] for i in range(0, 25, 5))


class Command(BaseCommand):
    help = "Create the demo catalogue (idempotent). --products N adds N generated products."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=0)
        parser.add_argument("--allow-production", action="store_true")

    @transaction.atomic
    def handle(self, *args, products: int, allow_production: bool, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError("Demo data: seeding needs DEBUG on (or --allow-production).")
        categories = {}
        for position, (name, slug) in enumerate(CATEGORIES):
            categories[slug], _ = Category.objects.get_or_create(
                slug=slug, defaults={"name": name, "position": position}
            )
        created = 0
        for slug, name, category, kind, price, stock, summary in PRODUCTS:
            product, new = Product.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "category": categories[category],
                    "kind": kind,
                    "price_sen": price,
                    "stock": stock,
                    "summary": summary,
                    "description": f"{summary}\n\nSold by IPmart with local support.",
                },
            )
            created += new
            if new and kind == ProductKind.LICENCE:
                LicenceKey.objects.bulk_create(
                    [
                        LicenceKey(product=product, key=demo_key(slug, n))
                        for n in range(KEYS_PER_LICENCE)
                    ]
                )
        for n in range(products):
            slug = f"generated-{n:05d}"
            kind = ProductKind.LICENCE if n % 3 else ProductKind.PHYSICAL
            product, new = Product.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": f"Generated product {n:05d}",
                    "kind": kind,
                    "category": categories[CATEGORIES[n % len(CATEGORIES)][1]],
                    "price_sen": 1000 + n,
                    "stock": 50,
                    "summary": "Generated for benchmarks.",
                },
            )
            if new and kind == ProductKind.LICENCE:
                LicenceKey.objects.bulk_create(
                    [LicenceKey(product=product, key=demo_key(slug, k)) for k in range(3)]
                )
            created += new
        seed_shipping_methods()  # the three zones' demo methods (sf-shipping)
        bump_catalogue_version()
        self.stdout.write(
            self.style.SUCCESS(f"Catalogue: {Product.objects.count()} products ({created} new).")
        )
