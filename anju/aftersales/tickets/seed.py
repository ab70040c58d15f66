"""A starting problem library (统一问题分类) in the benchmark companies' words: used by the
demo and offered to a new company; every row can be changed on the library pages."""

from django.db import transaction

from anju.aftersales.models import (
    Component,
    Location,
    ProblemCategory,
    ProblemDescription,
    ProjectLocation,
    WarrantyPeriod,
)

ROOMS = ["客厅", "餐厅", "主卧", "次卧", "厨房", "卫生间", "阳台", "玄关"]
PUBLIC_AREAS = ["电梯厅", "楼梯间", "地下车库", "小区道路", "外立面", "屋面"]

# root → {leaf: ([categories], [locations or empty = everywhere])}; roots with a warranty
TREE: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "土建": {"墙面": (["开裂", "空鼓", "渗漏", "发霉"], []),
             "天花": (["渗漏", "开裂", "空鼓"], []),
             "地面": (["空鼓", "开裂", "不平整"], [])},
    "防水": {"卫生间防水": (["渗漏"], ["卫生间"]),
             "屋面防水": (["渗漏"], ["屋面"]),
             "外墙防水": (["渗漏"], ["外立面", "客厅", "主卧", "次卧"])},
    "门窗": {"入户门": (["损坏", "关闭不严"], ["玄关"]),
             "铝合金窗": (["渗漏", "关闭不严", "玻璃破损"], [])},
    "管道": {"给水管": (["渗漏", "堵塞"], ["厨房", "卫生间", "阳台"]),
             "下水管": (["渗漏", "堵塞"], ["厨房", "卫生间", "阳台"])},
    "电线": {"强电线路": (["无电", "跳闸"], []),
             "开关插座": (["损坏", "无电"], [])},
    "装修": {"瓷砖": (["空鼓", "开裂", "脱落"], ["厨房", "卫生间", "客厅", "餐厅"]),
             "木地板": (["起拱", "开裂"], ["主卧", "次卧", "客厅"]),
             "橱柜": (["损坏"], ["厨房"])},
    "公共设施": {"电梯": (["故障"], ["电梯厅"]),
                 "照明": (["不亮"], ["电梯厅", "楼梯间", "地下车库", "小区道路"]),
                 "门禁": (["故障"], ["电梯厅", "小区道路"])},
}
WARRANTY_YEARS = {"防水": 5, "管道": 2, "电线": 2, "装修": 2, "门窗": 2, "土建": 2,
                  "公共设施": 2}
DESCRIPTIONS = {
    "渗漏": ["下水管周围渗漏", "墙角渗水", "窗台渗水", "楼上渗水到天花"],
    "开裂": ["墙面细微裂缝", "天花板裂缝", "地面裂缝"],
    "空鼓": ["敲击有空响", "大面积空鼓"],
    "发霉": ["墙面返潮发霉"],
    "堵塞": ["地漏排水慢", "马桶堵塞"],
    "无电": ["插座无电", "整户无电"],
    "跳闸": ["用电器一开就跳闸"],
    "损坏": ["门锁损坏", "柜门铰链脱落"],
    "关闭不严": ["窗扇关闭不严漏风"],
    "玻璃破损": ["玻璃自爆"],
    "脱落": ["墙砖脱落"],
    "起拱": ["木地板起拱"],
    "故障": ["电梯停运", "门禁刷卡无反应"],
    "不亮": ["楼道灯不亮"],
    "不平整": ["地面不平"],
}


@transaction.atomic
def library_seed(*, company_id: int, project_ids: list[int] = ()) -> dict:
    """Creates the starting library for a company (idempotent: existing names are kept)
    and binds every location to the given projects."""
    locations = {}
    for order, name in enumerate(ROOMS):
        locations[name], _ = Location.objects.get_or_create(
            company_id=company_id, name=name, defaults={"kind": Location.Kind.ROOM,
                                                        "order": order})
    for order, name in enumerate(PUBLIC_AREAS):
        locations[name], _ = Location.objects.get_or_create(
            company_id=company_id, name=name, defaults={"kind": Location.Kind.PUBLIC,
                                                        "order": 50 + order})
    categories = {}
    for order, name in enumerate(DESCRIPTIONS):
        categories[name], _ = ProblemCategory.objects.get_or_create(
            company_id=company_id, name=name, defaults={"order": order})
    components = {}
    for order, (root_name, leaves) in enumerate(TREE.items()):
        root, _ = Component.objects.get_or_create(company_id=company_id, parent=None,
                                                  name=root_name, defaults={"order": order})
        components[root_name] = root
        if root_name in WARRANTY_YEARS:
            WarrantyPeriod.objects.get_or_create(
                component=root, defaults={"years": WARRANTY_YEARS[root_name]})
        for leaf_order, (leaf_name, (cats, places)) in enumerate(leaves.items()):
            leaf, _ = Component.objects.get_or_create(company_id=company_id, parent=root,
                                                      name=leaf_name,
                                                      defaults={"order": leaf_order})
            components[leaf_name] = leaf
            leaf.categories.add(*(categories[c] for c in cats))
            if places:
                leaf.locations.add(*(locations[p] for p in places))
    for category_name, texts in DESCRIPTIONS.items():
        for text in texts:
            ProblemDescription.objects.get_or_create(category=categories[category_name],
                                                     component=None, text=text)
    for project_id in project_ids:
        ProjectLocation.objects.bulk_create(
            [ProjectLocation(project_id=project_id, location=loc) for loc in locations.values()],
            ignore_conflicts=True)
    return {"locations": locations, "categories": categories, "components": components}
