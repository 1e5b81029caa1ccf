# The contact search (`q`) reads first name, last name, e-mail and key while it
# walks the list order. With every one of those columns in one index, the
# page's ids come from an index-only scan (paginate(late_rows=True)); at a
# million contacts this took the search page from ~60 ms to ~6 ms on
# PostgreSQL. See docs/benchmarks.md.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0002_keys_not_unique_in_history'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(fields=['search_last_name', 'search_first_name', 'id', 'email', 'key'],
                               name='contact_search_cover_idx'),
        ),
    ]
