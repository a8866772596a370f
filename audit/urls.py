from django.urls import path

from audit.views import (
    AuditEventsView,
    AuditExportView,
    AuditReviewView,
    AuditVerifyView,
    ReferralAccessesView,
    SubjectReportView,
)

urlpatterns = [
    path("audit/events/", AuditEventsView.as_view(), name="audit-events"),
    path("audit/events/export/", AuditExportView.as_view(), name="audit-export"),
    path("audit/events/<uuid:record_id>/review/", AuditReviewView.as_view(), name="audit-review"),
    path("audit/verify/", AuditVerifyView.as_view(), name="audit-verify"),
    path(
        "audit/subjects/<uuid:person_id>/report/",
        SubjectReportView.as_view(),
        name="audit-subject-report",
    ),
    path(
        "referrals/<uuid:referral_id>/accesses/",
        ReferralAccessesView.as_view(),
        name="referral-accesses",
    ),
]
