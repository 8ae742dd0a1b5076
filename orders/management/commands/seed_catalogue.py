"""Demo catalogue for the embedded default: categories, licences with a key pool each, and some
physical goods, in English and Malay, each with its own drawn image (gradient, shape and
initials from its slug). Running it again changes nothing; `--products N` adds generated
products (for benchmarks and query-count checks; those have no image)."""

import hashlib

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from orders.demo_shipping import seed_shipping_methods
from orders.images import demo_product_image
from orders.models import Category, LicenceKey, Product, ProductKind
from orders.services.catalogue import add_product_image, bump_catalogue_version
from privacy.intake import validate_upload

CATEGORIES = [
    ("Operating systems", "operating-systems"),
    ("Office and productivity", "office"),
    ("Security", "security"),
    ("Design and media", "design"),
    ("Accessories", "accessories"),
]
CATEGORY_NAMES_MS = {
    "operating-systems": "Sistem pengendalian",
    "office": "Pejabat dan produktiviti",
    "security": "Keselamatan",
    "design": "Reka bentuk dan media",
    "accessories": "Aksesori",
}
FEATURED = {"windows-11-pro", "office-2024-home", "guard-total-5", "security-key-nfc"}
LICENCE_NOTES = (
    "Your licence key appears on your order page and in an email once payment is confirmed. "
    "Enter it in the program's activation screen; it activates one installation."
)
LICENCE_NOTES_MS = (
    "Kunci lesen anda dipaparkan di halaman pesanan dan dihantar melalui e-mel sebaik sahaja "
    "bayaran disahkan. Masukkan kunci itu di skrin pengaktifan program; ia mengaktifkan satu "
    "pemasangan."
)
POST_NOTES = (
    "Shipped by post from Kuala Lumpur once payment is confirmed; the tracking number appears "
    "on your order page."
)
POST_NOTES_MS = (
    "Dihantar melalui pos dari Kuala Lumpur sebaik sahaja bayaran disahkan; nombor penjejakan "
    "dipaparkan di halaman pesanan anda."
)
# slug: (name in Malay, summary in Malay, description in Malay)
MALAY = {
    "windows-11-pro": (
        "Windows 11 Pro",
        "Lesen runcit untuk satu PC.",
        "Sistem pengendalian untuk kerja dan perniagaan kecil, dengan BitLocker dan Desktop Jauh.",
    ),
    "windows-11-home": (
        "Windows 11 Home",
        "Lesen runcit untuk satu PC.",
        "Sistem pengendalian untuk kegunaan di rumah dan sekolah.",
    ),
    "office-2024-home": (
        "Office Home 2024",
        "Word, Excel dan PowerPoint untuk satu PC atau Mac.",
        "Aplikasi pejabat klasik dengan lesen kekal untuk kegunaan di rumah.",
    ),
    "office-2024-business": (
        "Office Home & Business 2024",
        "Termasuk Outlook; boleh digunakan untuk perniagaan.",
        "Word, Excel, PowerPoint dan Outlook dengan lesen kekal untuk kegunaan komersial.",
    ),
    "pdf-studio-pro": (
        "PDF Studio Pro",
        "Sunting, tandatangan dan imbas teks (OCR) fail PDF.",
        "Sunting dokumen PDF, isi borang, tambah tandatangan dan jadikan imbasan boleh dicari.",
    ),
    "guard-antivirus-3": (
        "Guard Antivirus, 3 peranti, 1 tahun",
        "Perlindungan masa nyata untuk Windows, macOS dan Android.",
        "Mengimbas muat turun dan lampiran e-mel serta menyekat laman web berbahaya.",
    ),
    "guard-total-5": (
        "Guard Total Security, 5 peranti, 1 tahun",
        "Antivirus, VPN dan pengurus kata laluan.",
        "Perlindungan lengkap untuk seisi keluarga, termasuk VPN dan pengurus kata laluan.",
    ),
    "pixelcraft-2026": (
        "PixelCraft 2026",
        "Penyuntingan foto dengan lapisan dan sokongan RAW.",
        "Suntingan foto berlapis, topeng dan pembetulan warna untuk jurugambar.",
    ),
    "cutline-video": (
        "Cutline Video Editor",
        "Penyuntingan video 4K untuk pencipta kandungan.",
        "Sunting video 4K dengan garis masa berbilang trek, sari kata dan eksport pantas.",
    ),
    "usb-installer-win11": (
        "Pemasang USB Windows 11 (berkotak)",
        "Pemacu USB 32 GB boleh but, dihantar melalui pos.",
        "Pemacu USB yang sedia dengan pemasang Windows 11 untuk memasang semula PC anda.",
    ),
    "wireless-keyboard-bm": (
        "Papan kekunci tanpa wayar (susun atur BM/EN)",
        "Kekunci senyap, 2.4 GHz dan Bluetooth.",
        "Papan kekunci senyap yang bersambung melalui penerima USB atau Bluetooth.",
    ),
    "security-key-nfc": (
        "Kunci keselamatan perkakasan (NFC)",
        "Kunci FIDO2 untuk log masuk dua faktor.",
        "Lindungi akaun anda dengan kunci fizikal: sentuh atau dekatkan untuk log masuk.",
    ),
}
DESCRIPTIONS = {
    "windows-11-pro": "Operating system for work and small businesses, with BitLocker and "
    "Remote Desktop.",
    "windows-11-home": "Operating system for home and school.",
    "office-2024-home": "The classic office apps with a perpetual licence for home use.",
    "office-2024-business": "Word, Excel, PowerPoint and Outlook with a perpetual licence for "
    "commercial use.",
    "pdf-studio-pro": "Edit PDF documents, fill in forms, add signatures and make scans "
    "searchable.",
    "guard-antivirus-3": "Scans downloads and email attachments and blocks dangerous websites.",
    "guard-total-5": "Complete protection for the whole family, including a VPN and a password "
    "manager.",
    "pixelcraft-2026": "Layered photo editing, masks and colour correction for photographers.",
    "cutline-video": "Edit 4K video on a multi-track timeline, with subtitles and fast export.",
    "usb-installer-win11": "A USB drive ready with the Windows 11 installer to reinstall your PC.",
    "wireless-keyboard-bm": "A quiet keyboard that connects through a USB receiver or Bluetooth.",
    "security-key-nfc": "Protect your accounts with a physical key: touch or tap it to sign in.",
}

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
            if not categories[slug].name_ms:  # a catalogue seeded before Malay names existed
                categories[slug].name_ms = CATEGORY_NAMES_MS[slug]
                categories[slug].save(update_fields=["name_ms"])
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
                    "description": DESCRIPTIONS[slug],
                    "featured": slug in FEATURED,
                },
            )
            created += new
            if not product.name_ms:  # new, or seeded before the Malay texts existed
                self._add_texts(product, slug)
            if not product.images.exists():
                self._add_image(product)
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

    @staticmethod
    def _add_texts(product: Product, slug: str) -> None:
        name_ms, summary_ms, description_ms = MALAY[slug]
        licence = product.kind == ProductKind.LICENCE
        product.name_ms = name_ms
        product.summary_ms = summary_ms
        product.description_ms = description_ms
        product.activation_notes = LICENCE_NOTES if licence else POST_NOTES
        product.activation_notes_ms = LICENCE_NOTES_MS if licence else POST_NOTES_MS
        product.save(
            update_fields=[
                "name_ms",
                "summary_ms",
                "description_ms",
                "activation_notes",
                "activation_notes_ms",
            ]
        )

    @staticmethod
    def _add_image(product: Product) -> None:
        upload = SimpleUploadedFile(
            f"{product.slug}.jpg", demo_product_image(product.slug, product.name), "image/jpeg"
        )
        add_product_image(
            product,
            clean=validate_upload(upload, allowed=("jpeg",)),
            alt=f"{product.name} product image",
            alt_ms=f"Gambar produk {product.name_ms or product.name}",
            acting_user=None,
        )
