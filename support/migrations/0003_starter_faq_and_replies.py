"""A starter FAQ and canned replies, in English and Malay, editable in admin afterwards. Only
added when there is none yet, so running it on a store that has its own changes nothing."""

from django.db import migrations

TOPICS = [
    (
        "Orders and payment",
        "Pesanan dan bayaran",
        [
            (
                "How do I pay for my order?",
                "Pay by card on our payment provider's secure page (Worldline). We never see or store your card number. Your order is confirmed by email when the payment is accepted.",
                "Bagaimanakah saya membayar pesanan saya?",
                "Bayar dengan kad di halaman selamat penyedia pembayaran kami (Worldline). Kami tidak pernah melihat atau menyimpan nombor kad anda. Pesanan anda disahkan melalui e-mel apabila bayaran diterima.",
            ),
            (
                "Why was my order held for verification?",
                "Some orders need proof that the payer is the cardholder. We will ask you for a document; once it is checked, the order continues. Documents are encrypted and deleted after the period the policy states.",
                "Mengapakah pesanan saya ditahan untuk pengesahan?",
                "Sesetengah pesanan memerlukan bukti bahawa pembayar ialah pemegang kad. Kami akan meminta satu dokumen daripada anda; selepas ia disemak, pesanan diteruskan. Dokumen disulitkan dan dipadam selepas tempoh yang dinyatakan dalam dasar.",
            ),
        ],
    ),
    (
        "Licence keys",
        "Kunci lesen",
        [
            (
                "Where do I find my licence key?",
                "Your keys are in the email we send when the payment is accepted, and on the order's page under Orders when you are signed in.",
                "Di manakah saya boleh mencari kunci lesen saya?",
                "Kunci anda ada dalam e-mel yang kami hantar apabila bayaran diterima, dan di halaman pesanan di bawah Pesanan apabila anda log masuk.",
            ),
            (
                "My licence key does not work",
                "Check that you copied the whole key and that it is for the product and version you installed. If it still does not work, send us a message with the order number and a screenshot of the error.",
                "Kunci lesen saya tidak berfungsi",
                "Pastikan anda menyalin keseluruhan kunci dan ia untuk produk dan versi yang anda pasang. Jika masih tidak berfungsi, hantar mesej kepada kami dengan nombor pesanan dan tangkapan skrin ralat tersebut.",
            ),
        ],
    ),
    (
        "Your personal data",
        "Data peribadi anda",
        [
            (
                "How do I get a copy of my data or close my account?",
                "Use your privacy centre under My account. For any other request about your personal data, send us a message and choose \u201cA privacy request\u201d: our data protection officer answers within 21 days.",
                "Bagaimanakah saya mendapatkan salinan data saya atau menutup akaun saya?",
                "Gunakan pusat privasi anda di bawah Akaun saya. Untuk sebarang permintaan lain tentang data peribadi anda, hantar mesej kepada kami dan pilih \u201cPermintaan privasi\u201d: pegawai perlindungan data kami menjawab dalam tempoh 21 hari.",
            ),
            (
                "How do I stop marketing email?",
                "Every marketing email has an unsubscribe link that works in one click, without signing in.",
                "Bagaimanakah saya menghentikan e-mel pemasaran?",
                "Setiap e-mel pemasaran mempunyai pautan berhenti langganan yang berfungsi dengan satu klik, tanpa log masuk.",
            ),
        ],
    ),
]

MACROS = [
    (
        "Need the order number",
        "Thank you for your message. Could you tell us the order number (it looks like IPM-XXXX-XXXX)? You will find it in the confirmation email.",
        "Terima kasih atas mesej anda. Boleh anda beritahu kami nombor pesanan (ia kelihatan seperti IPM-XXXX-XXXX)? Anda boleh menemuinya dalam e-mel pengesahan.",
        "waiting",
    ),
    (
        "Key re-sent: resolved",
        "We have sent your licence key again to this email address. It is also on your order's page. We are marking this as resolved; just reply if anything is still wrong.",
        "Kami telah menghantar semula kunci lesen anda ke alamat e-mel ini. Ia juga ada di halaman pesanan anda. Kami menandakan perkara ini sebagai selesai; balas sahaja jika masih ada masalah.",
        "resolved",
    ),
    (
        "Thanks: resolved",
        "Thank you for contacting IPmart. We are glad we could help and are marking this as resolved. Just reply if you need anything else.",
        "Terima kasih kerana menghubungi IPmart. Kami gembira dapat membantu dan menandakan perkara ini sebagai selesai. Balas sahaja jika anda memerlukan apa-apa lagi.",
        "resolved",
    ),
]


def starter(apps, schema_editor):
    FaqTopic = apps.get_model("support", "FaqTopic")
    FaqEntry = apps.get_model("support", "FaqEntry")
    Macro = apps.get_model("support", "Macro")
    if not FaqTopic.objects.exists():
        for t, (name, name_ms, entries) in enumerate(TOPICS):
            topic = FaqTopic.objects.create(name=name, name_ms=name_ms, position=t)
            for e, (q, a, q_ms, a_ms) in enumerate(entries):
                FaqEntry.objects.create(
                    topic=topic, question=q, answer=a, question_ms=q_ms, answer_ms=a_ms,
                    position=e, is_published=True,
                )
    if not Macro.objects.exists():
        for position, (name, body, body_ms, status) in enumerate(MACROS):
            Macro.objects.create(
                name=name, body=body, body_ms=body_ms, sets_status=status, position=position
            )


class Migration(migrations.Migration):
    dependencies = [("support", "0002_roles")]

    operations = [migrations.RunPython(starter, migrations.RunPython.noop)]
