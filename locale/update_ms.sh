#!/bin/sh
# Refresh the Bahasa Malaysia catalogue.
#
# makemessages only keeps msgids found in IPmart's own sources: every other entry, including
# the django-allauth translations we add (allauth ships no Malay catalogue), is turned into an
# obsolete "#~" entry, which compilemessages leaves out of django.mo. The allauth translations
# live in locale/ms/allauth.po and the country names (django-countries ships no Malay) in
# locale/ms/countries.po (neither loaded by Django); both are merged back here; where a msgid is
# in several files, our own translation wins.
set -e
cd "$(dirname "$0")/.."
.venv/bin/python manage.py makemessages -l ms --ignore='.venv/*' --ignore='var/*' --ignore='tests/*'
msgattrib --no-obsolete -o locale/ms/LC_MESSAGES/django.po locale/ms/LC_MESSAGES/django.po
msgcat --use-first -o locale/ms/LC_MESSAGES/django.po \
    locale/ms/LC_MESSAGES/django.po locale/ms/allauth.po locale/ms/countries.po
msgfmt --check -o /dev/null locale/ms/LC_MESSAGES/django.po
.venv/bin/python manage.py compilemessages -l ms --ignore='.venv/*'
# New or changed msgids come out untranslated or fuzzy; the counts below show how many.
msgfmt --statistics -o /dev/null locale/ms/LC_MESSAGES/django.po
