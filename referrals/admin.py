"""Only the programme catalogue here: referrals hold personal data, and an admin page would
bypass minimisation and the access record. Referral data is read through the API alone."""

from django.contrib import admin

from referrals.models import Programme


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ("name", "provider", "approach", "modality", "capacity", "active")
    list_filter = ("approach", "modality", "active")
    search_fields = ("name", "provider__name")
