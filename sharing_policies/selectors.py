"""Gathering the disclosure decision's inputs from the database, in a bounded number of queries.

Pass referrals loaded through `referrals.selectors.referral_queryset()`: observers and
disclosures are then prefetched, and reading them here costs nothing per referral.
"""

from referrals.models import Referral
from sharing_policies.decision import Decision, ReferralParties, Requester, decide


def parties_of(referral: Referral) -> ReferralParties:
    return ReferralParties(
        referrer=referral.referrer_id,
        provider=referral.provider_id,
        partner_service=referral.partner_service_id,
        observers=frozenset(a.id for a in referral.observers.all()),
        disclosure_suppliers=frozenset(d.supplier_id for d in referral.disclosures.all()),
    )


def decision_for(referral: Referral, requester: Requester) -> Decision:
    return decide(parties_of(referral), requester)
