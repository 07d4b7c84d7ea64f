//! Names, streets and villages for the demo county (安平县, a fictional county in Heilongjiang).

use super::rng::Rng;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何",
    "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹", "袁", "邓",
    "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾", "丁", "魏", "薛", "叶", "阎", "余",
    "潘", "杜", "戴", "夏", "钟", "汪", "田", "任", "姜", "范", "方", "石", "姚", "谭", "廖", "邹", "熊",
    "金", "陆", "郝", "孔", "白", "崔", "康", "毛", "邱", "秦", "江", "史", "顾", "侯", "邵", "孟", "龙",
    "万", "段", "雷", "钱", "汤",
];

const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀兰", "霞", "平", "刚", "桂英", "建国", "建华", "国庆", "淑珍", "玉兰", "凤英", "春生", "福",
    "志强", "海燕", "红梅", "立新", "卫东", "丽华", "长海", "宝山", "雪梅", "秋菊", "德胜", "振华", "晓东",
    "晓梅", "丹", "鑫", "宇", "浩", "佳", "欣", "婷", "博", "帅", "亮", "斌", "鹏", "旭", "阳", "凯", "慧",
    "颖",
];

pub const TOWN: &str = "安平县城关镇";

const STREETS: &[&str] = &[
    "建设街",
    "胜利路",
    "和平大街",
    "人民路",
    "新华街",
    "解放路",
    "中央大街",
    "友谊路",
    "兴安街",
    "北山路",
    "南环路",
    "松江街",
    "铁路街",
    "站前路",
    "文化街",
    "学府路",
    "东风街",
    "红旗路",
    "民主街",
    "团结路",
];

const TOWNSHIPS: &[&str] = &["兴隆乡", "太平乡", "丰收镇", "永安乡", "新民镇", "长青乡", "富民乡", "双河镇"];

const VILLAGES: &[&str] = &[
    "前进村",
    "东升村",
    "向阳村",
    "红光村",
    "新立村",
    "永丰村",
    "富强村",
    "德胜村",
    "长胜村",
    "双山村",
    "五星村",
    "光明村",
    "联合村",
    "幸福村",
    "民乐村",
    "青山村",
];

const SHOP_KINDS: &[&str] = &[
    "超市",
    "饭店",
    "五金店",
    "药房",
    "理发店",
    "粮油店",
    "农资商店",
    "汽修厂",
    "宾馆",
    "诊所",
    "面包房",
    "建材商店",
    "加工厂",
    "浴池",
    "网吧",
    "幼儿园",
];

pub fn person(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
}

pub fn town_address(rng: &mut Rng) -> String {
    format!(
        "{TOWN}{}{}号{}单元{}",
        rng.pick(STREETS),
        1 + rng.below(180),
        1 + rng.below(6),
        (1 + rng.below(6)) * 100 + 1 + rng.below(4)
    )
}

/// A rural address: township, village, group (组).
pub fn rural_address(rng: &mut Rng, township: usize) -> String {
    format!("安平县{}{}{}组", TOWNSHIPS[township % TOWNSHIPS.len()], rng.pick(VILLAGES), 1 + rng.below(9))
}

pub fn shop(rng: &mut Rng) -> String {
    format!("{}{}", person(rng), rng.pick(SHOP_KINDS))
}

pub fn township(i: usize) -> &'static str {
    TOWNSHIPS[i % TOWNSHIPS.len()]
}

/// A mobile number (13x/15x/18x and eight digits).
pub fn mobile(rng: &mut Rng) -> String {
    const PREFIXES: &[&str] =
        &["130", "131", "132", "135", "136", "138", "139", "150", "151", "158", "186", "188"];
    format!("{}{:08}", rng.pick(PREFIXES), rng.below(100_000_000))
}
