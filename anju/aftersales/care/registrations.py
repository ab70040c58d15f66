"""What care contributes to the shell: menu entries and the 360° section of surveys."""

from django.utils.translation import gettext_lazy as _

from anju.core.registry import MenuEntry, Section, customer_sections, menu

from .views import is_care_staff, section_context

GROUP = _("Customer service")

menu.register(MenuEntry(key="aftersales.knowledge", label=_("Knowledge base"),
                        url_name="aftersales:knowledge_list", icon="book", order=640,
                        visible=is_care_staff, group=GROUP))
menu.register(MenuEntry(key="aftersales.surveys", label=_("Satisfaction surveys"),
                        url_name="aftersales:survey_scores", icon="smile", order=650,
                        visible=is_care_staff, group=GROUP))
menu.register(MenuEntry(key="aftersales.handover", label=_("Handover batches"),
                        url_name="aftersales:handover_list", icon="key", order=660,
                        visible=is_care_staff, group=GROUP))

customer_sections.register(Section(key="service-surveys", title=_("Satisfaction surveys"),
                                   order=620, template_name="aftersales/care/_section.html",
                                   context=section_context))


def _audit() -> None:
    """Who/when/before/after of care's key fields (registrations are imported once at
    start-up, from the web app's `ready`)."""
    from anju.core.audit import audit_register

    from ..models.care import (
        ChecklistTemplate,
        HandoverBatch,
        HandoverSlot,
        HandoverUnit,
        KnowledgeArticle,
    )

    audit_register(KnowledgeArticle, include_fields=["title", "body", "keywords", "category",
                                                     "is_published"])
    audit_register(HandoverBatch, include_fields=["name", "starts_on", "ends_on", "status"])
    audit_register(HandoverSlot, include_fields=["starts_at", "ends_at", "capacity"])
    audit_register(ChecklistTemplate, include_fields=["company", "project", "rooms"])
    audit_register(HandoverUnit, include_fields=["stage", "slot", "key_count", "signed_by"])


_audit()
