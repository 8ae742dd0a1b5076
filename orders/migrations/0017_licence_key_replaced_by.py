# A licence key staff replaced (faulty or leaked) points to its replacement, so the customer's
# order page says "replaced" rather than guessing refund or chargeback from the order's status;
# the history records the replacement as its own event kind.


import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0016_order_line_malay_name'),
    ]

    operations = [
        migrations.AddField(
            model_name='licencekey',
            name='replaced_by',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='replaces', to='orders.licencekey'),
        ),
        migrations.AlterField(
            model_name='orderevent',
            name='kind',
            field=models.CharField(choices=[('placed', 'Placed'), ('payment_started', 'Payment started'), ('payment_pending', 'Payment pending'), ('payment_failed', 'Payment failed'), ('payment_cancelled', 'Payment cancelled'), ('paid', 'Paid'), ('needs_review', 'Needs review'), ('held', 'Held for verification'), ('fulfilled', 'Fulfilled'), ('shipped', 'Shipped'), ('cancelled', 'Cancelled'), ('expired', 'Expired'), ('refunded', 'Refunded'), ('note', 'Note'), ('document_uploaded', 'Document uploaded'), ('document_approved', 'Document approved'), ('document_rejected', 'Document rejected'), ('verified', 'Verified'), ('key_replaced', 'Licence key replaced')], max_length=24),
        ),
        migrations.AddConstraint(
            model_name='licencekey',
            constraint=models.CheckConstraint(condition=models.Q(('replaced_by__isnull', True), ('status', 'revoked'), _connector='OR'), name='licence_key_replaced_only_when_revoked'),
        ),
    ]
