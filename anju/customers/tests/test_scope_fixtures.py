from anju.customers.models import Customer


def test_fixtures_scope_a_consultant_to_own_customers(people, make_customer):
    mine = make_customer("张三", owner=people["consultant"])
    make_customer("李四", owner=people["peer"])
    assert list(Customer.objects.visible_to(people["consultant"])) == [mine]
    assert Customer.objects.visible_to(people["manager"]).count() == 2
    assert mine.phones.get().is_primary
    assert mine.search_terms.filter(term="zs").exists()
