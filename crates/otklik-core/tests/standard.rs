//! The house-standard checker against sentences in Russian, Ukrainian and English: for each rule,
//! sentences it must flag and near-misses it must leave alone; the rules file format; templates.

use std::sync::OnceLock;

use otklik_core::standard::{self, Draft, Finding, Rules, Severity, check};
use otklik_core::{Kind, Language};

/// The built-in rules, parsed once for all tests.
fn builtin() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(Rules::builtin)
}

fn findings(rules: &Rules, text: &str, kind: Kind, public: bool) -> Vec<Finding> {
    check(rules, &Draft { text, kind, public, language: None, purpose: None, audience: None }, Language::En)
}

/// Asserts that `rule` flags every sentence of `flagged` and none of `fine`, listing every miss.
fn assert_rule(rule: &str, kind: Kind, public: bool, flagged: &[&str], fine: &[&str]) {
    let rules = builtin();
    let mut wrong = Vec::new();
    for text in flagged {
        if !findings(rules, text, kind, public).iter().any(|f| f.rule == rule) {
            wrong.push(format!("not flagged: {text}"));
        }
    }
    for text in fine {
        let hits: Vec<String> =
            findings(rules, text, kind, public).into_iter().filter(|f| f.rule == rule).map(|f| f.words).collect();
        if !hits.is_empty() {
            wrong.push(format!("flagged {hits:?}: {text}"));
        }
    }
    assert!(wrong.is_empty(), "rule {rule}:\n{}", wrong.join("\n"));
}

// ── blame_customer ──────────────────────────────────────────────────────────────────────────

#[test]
fn blame_customer_ru() {
    assert_rule(
        "blame_customer",
        Kind::Complaint,
        true,
        &[
            "Вы допустили ошибку в документе.",
            "Вы, к сожалению, допустили ошибку при оформлении.",
            "Ты сделал ошибку в адресе.",
            "Ошибку допустили вы, а не мы.",
            "Вами была допущена ошибка в заявке.",
            "Вы ошиблись с размером.",
            "Ты ошибся, когда выбирал тариф.",
            "Это ваша ошибка.",
            "Доставка задержалась по вашей вине.",
            "Вы сами виноваты.",
            "Сами виноваты, надо было читать условия.",
            "Ты сама виновата в задержке.",
            "Ошибка с вашей стороны.",
            "Вы неправильно указали адрес.",
            "Вы неверно заполнили форму.",
            "Вы не так поняли условия акции.",
            "Вы перепутали даты.",
            "Вы забыли указать номер квартиры.",
            "Вы не указали телефон в заказе.",
            "Вы не прочитали договор.",
            "Будьте внимательнее при оформлении.",
            "Читайте внимательнее условия.",
            "Надо было внимательно читать договор.",
            "Вам следовало сообщить об этом раньше.",
            "Вам нужно было позвонить нам.",
            "Вы должны были проверить товар при курьере.",
            "Всё произошло из-за вас.",
            "Это произошло из-за вашей невнимательности.",
        ],
        &[
            "Мы допустили ошибку в документе и уже исправляем её.",
            "В документе ошибка, мы исправим её сегодня.",
            "В вашем заказе ошибка — мы её уже исправили.",
            "В вашей накладной ошибка, приносим извинения.",
            "Это наша ошибка, простите.",
            "Если вы заметили ошибку на сайте, напишите нам.",
            "Если вы неправильно ввели пароль, его можно восстановить.",
            "Вы правы, виноваты мы.",
            "Вы не виноваты, это наш недочёт.",
            "Вы не ошиблись: в чеке действительно лишняя позиция.",
            "Вы получили неверно собранный заказ — нам очень жаль.",
            "Вы написали нам, а мы допустили ошибку с ответом.",
            "Нам нужно было предупредить вас заранее.",
            "Вы правы, мы перепутали заказы.",
        ],
    );
}

#[test]
fn blame_customer_uk() {
    assert_rule(
        "blame_customer",
        Kind::Complaint,
        true,
        &[
            "Ви помилилися в документі.",
            "Ви припустилися помилки під час оформлення.",
            "Ти зробив помилку в адресі.",
            "Помилку зробили ви.",
            "Ти помилився з розміром.",
            "Це ваша помилка.",
            "Доставка затрималася з вашої вини.",
            "Ви самі винні.",
            "Ти сама винна в затримці.",
            "Помилка з вашого боку.",
            "Ви неправильно вказали адресу.",
            "Ви невірно заповнили форму.",
            "Ви не так зрозуміли умови акції.",
            "Ви переплутали дати.",
            "Ви забули вказати номер квартири.",
            "Ви не вказали телефон у замовленні.",
            "Будьте уважнішими під час оформлення.",
            "Треба було уважно читати договір.",
            "Вам слід було повідомити раніше.",
            "Ви повинні були перевірити товар при кур'єрі.",
            "Усе сталося через вас.",
            "Це сталося через вашу неуважність.",
        ],
        &[
            "Ми помилилися в документі й уже виправляємо це.",
            "У документі помилка, ми виправимо її сьогодні.",
            "У вашій накладній помилка, просимо вибачення.",
            "Це наша помилка, вибачте.",
            "Якщо ви помітили помилку на сайті, напишіть нам.",
            "Ви маєте рацію, винні ми.",
            "Ви не винні, це наш недолік.",
            "Ви не помилилися: у чеку справді зайва позиція.",
            "Нам треба було попередити вас заздалегідь.",
        ],
    );
}

#[test]
fn blame_customer_en() {
    assert_rule(
        "blame_customer",
        Kind::Complaint,
        true,
        &[
            "You made a mistake in the document.",
            "You have made an error in your order.",
            "The mistake was made by you.",
            "This is your fault.",
            "It was your own mistake.",
            "You are to blame for the delay.",
            "You entered the wrong address.",
            "You provided incorrect details.",
            "You didn't read the terms.",
            "You did not fill in the form.",
            "You forgot to include the flat number.",
            "You misunderstood our offer.",
            "You should have checked the parcel.",
            "Please be more careful next time.",
            "Pay more attention to the confirmation e-mail.",
            "It happened because of you.",
        ],
        &[
            "We made a mistake in the document and are fixing it now.",
            "There is a mistake in the document; we will correct it today.",
            "If you made a mistake in your order, you can edit it until noon.",
            "You should have received a confirmation e-mail.",
            "You received the wrong item, and we are sorry.",
            "You ordered a blue jacket, but we sent the wrong one.",
            "Thank you for pointing out the error on our page.",
        ],
    );
}

#[test]
fn blame_finding_names_words_and_suggests_a_rewording() {
    let rules = builtin();
    let text = "Добрый день. Вы допустили ошибку в документе.";
    let finding = findings(rules, text, Kind::Complaint, false)
        .into_iter()
        .find(|f| f.rule == "blame_customer")
        .expect("blame is flagged");
    assert_eq!(finding.words, "Вы допустили ошибку");
    let (start, end) = finding.span.expect("a place in the draft");
    assert_eq!(&text[start..end], finding.words);
    assert_eq!(finding.severity, Severity::Error);
    let suggestion = finding.suggestion.expect("a rewording");
    assert!(suggestion.contains("В документе ошибка"), "{suggestion}");
}

#[test]
fn blame_suggestion_is_in_the_drafts_language() {
    let rules = builtin();
    for (text, expected) in [
        ("Ви помилилися в адресі.", "замість"),
        ("You made a mistake in the address.", "instead of"),
        ("Вы ошиблись в адресе.", "вместо"),
    ] {
        let finding = findings(rules, text, Kind::Complaint, false)
            .into_iter()
            .find(|f| f.rule == "blame_customer")
            .expect("blame is flagged");
        let suggestion = finding.suggestion.expect("a rewording");
        assert!(suggestion.contains(expected), "{text}: {suggestion}");
    }
}

// ── demand_proof ────────────────────────────────────────────────────────────────────────────

#[test]
fn demand_proof_ru() {
    assert_rule(
        "demand_proof",
        Kind::Complaint,
        true,
        &[
            "Докажите, что товар был повреждён.",
            "Обоснуйте свою претензию.",
            "Вам нужно доказать, что курьер опоздал.",
            "Предоставьте доказательства.",
            "Где доказательства?",
            "Чем вы можете это подтвердить?",
            "Объясните, почему вы не забрали заказ вовремя.",
            "С чего вы взяли, что мы вас обманули?",
            "На каком основании вы требуете возврат?",
            "Ваш отзыв не соответствует действительности.",
            "Это неправда.",
            "Вы преувеличиваете.",
            "Ты врёшь.",
            "Такого не может быть.",
            "У нас такого не бывает.",
            "Это не так, заказ был доставлен вовремя.",
            "Мы не согласны с вашим отзывом.",
            "Вы уверены, что заказывали именно эту модель?",
            "По нашим данным, вы получили заказ вовремя.",
        ],
        &[
            "Докажем делом: исправим всё сегодня.",
            "Мы докажем, что умеем исправлять ошибки.",
            "Пришлите, пожалуйста, фото — так мы быстрее заменим товар.",
            "Подтвердите, пожалуйста, адрес доставки в личных сообщениях.",
            "Мы объясним, почему так произошло, и исправим это.",
            "Вы можете быть уверены, что мы всё исправим.",
            "Если что-то было не так, напишите нам.",
        ],
    );
}

#[test]
fn demand_proof_uk() {
    assert_rule(
        "demand_proof",
        Kind::Complaint,
        true,
        &[
            "Доведіть, що товар був пошкоджений.",
            "Обґрунтуйте свою претензію.",
            "Вам потрібно довести, що кур'єр запізнився.",
            "Надайте докази.",
            "Де докази?",
            "Чим ви можете це підтвердити?",
            "Поясніть, чому ви не забрали замовлення вчасно.",
            "З чого ви взяли, що ми вас обманули?",
            "На якій підставі ви вимагаєте повернення?",
            "Ваш відгук не відповідає дійсності.",
            "Це неправда.",
            "Ви перебільшуєте.",
            "Такого не може бути.",
            "Це не так, замовлення доставили вчасно.",
            "Ми не згодні з вашим відгуком.",
        ],
        &[
            "Доведемо ділом: виправимо все сьогодні.",
            "Надішліть, будь ласка, фото — так ми швидше замінимо товар.",
            "Ми пояснимо, чому так сталося, і виправимо це.",
            "Якщо щось було не так, напишіть нам.",
        ],
    );
}

#[test]
fn demand_proof_en() {
    assert_rule(
        "demand_proof",
        Kind::Complaint,
        true,
        &[
            "Prove it.",
            "Can you prove that the parcel was damaged?",
            "Please provide evidence of the damage.",
            "Where is your proof?",
            "Justify your complaint.",
            "Explain why you did not collect the order.",
            "On what grounds do you demand a refund?",
            "That is simply not true.",
            "Your review is untrue.",
            "You are exaggerating.",
            "We disagree with your review.",
            "Are you sure you ordered this model?",
            "According to our records, you received the order on time.",
        ],
        &[
            "We will prove it with deeds: it will be fixed today.",
            "Please send us a photo so that we can replace the item faster.",
            "Please keep your proof of purchase for the warranty.",
            "Let us explain why this happened and how we will fix it.",
        ],
    );
}

// ── who_is_right ────────────────────────────────────────────────────────────────────────────

#[test]
fn who_is_right_ru() {
    assert_rule(
        "who_is_right",
        Kind::Complaint,
        true,
        &[
            "Вы не правы.",
            "Ты не прав, всё было иначе.",
            "Вы ошибаетесь.",
            "Ты заблуждаешься.",
            "Давайте разберёмся, кто прав.",
            "Неважно, кто виноват.",
            "Мы правы, и правила это подтверждают.",
            "Мы ни в чём не виноваты.",
            "Это не наша вина.",
            "Другие клиенты довольны нашим сервисом.",
            "Никто больше не жаловался.",
            "Как верно заметил Иван, доставка бесплатная.",
        ],
        &[
            "Вы правы, мы должны были предупредить вас.",
            "Вы абсолютно правы, простите нас.",
            "Мы считаем, вы правы, и вернём деньги.",
            "Мы понимаем, что вы не виноваты.",
            "Мы хотим, чтобы все клиенты были довольны.",
        ],
    );
}

#[test]
fn who_is_right_uk() {
    assert_rule(
        "who_is_right",
        Kind::Complaint,
        true,
        &[
            "Ви не праві.",
            "Ти не правий.",
            "Ви не маєте рації.",
            "Ви помиляєтеся.",
            "Давайте з'ясуємо, хто правий.",
            "Ми маємо рацію.",
            "Ми ні в чому не винні.",
            "Це не наша провина.",
            "Інші клієнти задоволені нашим сервісом.",
            "Ніхто більше не скаржився.",
        ],
        &["Ви праві, ми мали вас попередити.", "Ви маєте рацію, вибачте нам.", "Ми розуміємо, що ви не винні."],
    );
}

#[test]
fn who_is_right_en() {
    assert_rule(
        "who_is_right",
        Kind::Complaint,
        true,
        &[
            "You are wrong.",
            "You're mistaken about the price.",
            "You've got it all wrong.",
            "Let's not argue about who is right.",
            "Who's to blame does not matter.",
            "We were right to cancel the order.",
            "We did nothing wrong.",
            "This is not our fault.",
            "Other customers are happy with our service.",
            "Nobody else has complained.",
            "As John correctly pointed out, delivery is free.",
        ],
        &[
            "You are right, and we are sorry.",
            "You're right to be upset.",
            "We're right here to help.",
            "We want all our customers to be happy.",
        ],
    );
}

// ── first_person_singular ───────────────────────────────────────────────────────────────────

#[test]
fn first_person_singular_ru() {
    let flagged = [
        "Я проверю ваш заказ.",
        "Мне очень жаль.",
        "Свяжитесь со мной в личных сообщениях.",
        "Это моя ошибка.",
        "Уточню у коллег и вернусь с ответом.",
        "Приношу извинения за задержку.",
        "Понимаю ваше недовольство.",
    ];
    let fine = [
        "Мы проверим ваш заказ.",
        "Нам очень жаль.",
        "Вы пишете: «я ждал два часа» — простите нас.",
        "Ваш заказ готов.",
    ];
    assert_rule("first_person_singular", Kind::Complaint, true, &flagged, &fine);
    assert_rule("first_person_singular", Kind::Complaint, false, &[], &flagged);
}

#[test]
fn first_person_singular_uk() {
    let flagged = [
        "Я перевірю ваше замовлення.",
        "Мені дуже прикро.",
        "Напишіть мені в особисті повідомлення.",
        "Це моя помилка.",
        "Уточню в колег і повернуся з відповіддю.",
        "Перепрошую за затримку.",
    ];
    let fine = ["Ми перевіримо ваше замовлення.", "Нам дуже прикро.", "Ми вибачаємось i виправимо це."];
    assert_rule("first_person_singular", Kind::Complaint, true, &flagged, &fine);
    assert_rule("first_person_singular", Kind::Complaint, false, &[], &flagged);
}

#[test]
fn first_person_singular_en() {
    let flagged = [
        "I will check your order.",
        "I'm so sorry.",
        "Send me a private message.",
        "This was my mistake.",
        "I've passed it to the team.",
    ];
    let fine = ["We will check your order.", "We are so sorry.", "Our courier, i.e. the delivery service, is late."];
    assert_rule("first_person_singular", Kind::Complaint, true, &flagged, &fine);
    assert_rule("first_person_singular", Kind::Complaint, false, &[], &flagged);
}

// ── missing_apology, missing_next_step, missing_time (complaints) ───────────────────────────

#[test]
fn missing_apology_ru() {
    assert_rule(
        "missing_apology",
        Kind::Complaint,
        false,
        &[
            "Спасибо за отзыв. Мы заменим товар завтра.",
            "К сожалению, курьер опоздал. Мы вернём деньги сегодня.",
            "Мы разберёмся.",
        ],
        &[
            "Приносим извинения за задержку.",
            "Извините, пожалуйста, нас за ожидание.",
            "Простите за доставленные неудобства.",
            "Просим прощения за этот случай.",
            "Нам очень жаль, что так вышло.",
            "Сожалеем, что заказ пришёл повреждённым.",
            "Извиняемся за задержку.",
        ],
    );
    assert_rule("missing_apology", Kind::Praise, false, &[], &["Спасибо за тёплые слова!"]);
}

#[test]
fn missing_apology_uk() {
    assert_rule(
        "missing_apology",
        Kind::Complaint,
        false,
        &["Дякуємо за відгук. Ми замінимо товар завтра.", "На жаль, кур'єр запізнився. Ми повернемо кошти сьогодні."],
        &[
            "Просимо вибачення за затримку.",
            "Вибачте, будь ласка, за очікування.",
            "Перепрошуємо за незручності.",
            "Нам дуже прикро, що так сталося.",
            "Шкодуємо, що замовлення прийшло пошкодженим.",
            "Вибачаємося за затримку.",
        ],
    );
}

#[test]
fn missing_apology_en() {
    assert_rule(
        "missing_apology",
        Kind::Complaint,
        false,
        &[
            "Thank you for your feedback. We will replace the item tomorrow.",
            "We regret to inform you that the item is out of stock.",
        ],
        &[
            "We are sorry for the delay.",
            "We apologise for the inconvenience.",
            "Our apologies for the wait.",
            "Please accept our apologies.",
            "We're so sorry this happened.",
            "We regret the trouble this caused.",
        ],
    );
}

#[test]
fn missing_next_step_ru() {
    assert_rule(
        "missing_next_step",
        Kind::Complaint,
        false,
        &[
            "Приносим извинения за задержку.",
            "Извините, мы разберёмся.",
            "Простите, примем меры.",
            "Извините. Вы можете вернуть товар в магазин.",
            "Извините, свяжитесь с нашей поддержкой.",
        ],
        &[
            "Мы заменим товар завтра.",
            "Вернём деньги в течение 2 часов.",
            "Курьер привезёт новый заказ сегодня.",
            "Наш менеджер перезвонит вам до 18:00.",
            "Мы уже передали заказ на склад.",
            "Мы свяжемся с вами сегодня.",
            "Исправим ошибку в документе до пятницы.",
            "Деньги будут возвращены на карту завтра.",
        ],
    );
}

#[test]
fn missing_next_step_uk() {
    assert_rule(
        "missing_next_step",
        Kind::Complaint,
        false,
        &["Просимо вибачення за затримку.", "Вибачте, ми розберемося.", "Вибачте, зверніться до нашої підтримки."],
        &[
            "Ми замінимо товар завтра.",
            "Повернемо кошти протягом 2 годин.",
            "Кур'єр привезе нове замовлення сьогодні.",
            "Наш менеджер передзвонить вам до 18:00.",
            "Ми зв'яжемося з вами сьогодні.",
            "Кошти будуть повернені на картку завтра.",
        ],
    );
}

#[test]
fn missing_next_step_en() {
    assert_rule(
        "missing_next_step",
        Kind::Complaint,
        false,
        &[
            "We are sorry for the delay.",
            "Sorry, we will look into it.",
            "Sorry, please call our support line.",
            "We are sorry, but we can't refund this order.",
        ],
        &[
            "We will replace the item tomorrow.",
            "We'll refund the payment within 2 hours.",
            "Our courier will deliver a new order today.",
            "A manager will call you by 6 pm.",
            "We have passed your order to the warehouse.",
            "Your refund has been processed.",
            "You will receive a full refund today.",
        ],
    );
}

#[test]
fn missing_time_ru() {
    assert_rule(
        "missing_time",
        Kind::Complaint,
        false,
        &[
            "Приносим извинения, мы заменим товар.",
            "Извините, мы свяжемся с вами в ближайшее время.",
            "Простите, курьер опоздал на 2 часа. Мы вернём деньги.",
            "Извините, что вы ждали 3 дня. Мы всё исправим.",
        ],
        &[
            "Мы заменим товар сегодня.",
            "Перезвоним завтра утром.",
            "Вернём деньги в течение 2 часов.",
            "Исправим до пятницы.",
            "Ответим в течение часа.",
            "Привезём заказ 15 мая.",
            "Курьер приедет к 18:00.",
            "Свяжемся с вами через полчаса.",
            "Всё исправим до конца дня.",
            "Результат сообщим в течение трёх рабочих дней.",
        ],
    );
}

#[test]
fn missing_time_uk() {
    assert_rule(
        "missing_time",
        Kind::Complaint,
        false,
        &[
            "Просимо вибачення, ми замінимо товар.",
            "Вибачте, ми зв'яжемося з вами найближчим часом.",
            "Вибачте, кур'єр запізнився на 2 години. Ми повернемо кошти.",
        ],
        &[
            "Ми замінимо товар сьогодні.",
            "Передзвонимо завтра вранці.",
            "Повернемо кошти протягом 2 годин.",
            "Виправимо до п'ятниці.",
            "Привеземо замовлення 15 травня.",
            "Кур'єр приїде до 18:00.",
            "Зв'яжемося з вами через годину.",
        ],
    );
}

#[test]
fn missing_time_en() {
    assert_rule(
        "missing_time",
        Kind::Complaint,
        false,
        &[
            "We are sorry, we will replace the item.",
            "Sorry, we will contact you as soon as possible.",
            "We are sorry the courier was 2 hours late. We will refund you.",
            "Sorry for the trouble, and have a nice day.",
        ],
        &[
            "We will replace the item today.",
            "We'll call you back tomorrow morning.",
            "We will refund you within 2 hours.",
            "It will be fixed by Friday.",
            "The courier will arrive at 6 pm.",
            "You will hear from us within one business day.",
            "We will deliver it on May 15.",
        ],
    );
}

#[test]
fn missing_rules_apply_only_to_complaints() {
    let rules = builtin();
    for kind in [Kind::Idea, Kind::Question, Kind::Praise, Kind::Referral] {
        let found = findings(rules, "Спасибо!", kind, true);
        assert!(found.iter().all(|f| !f.rule.starts_with("missing_")), "{kind}: {found:?}");
    }
    let found: Vec<String> = findings(rules, "Спасибо!", Kind::Complaint, true).into_iter().map(|f| f.rule).collect();
    assert_eq!(found, ["missing_apology", "missing_next_step", "missing_time"]);
}

// ── personal_data ───────────────────────────────────────────────────────────────────────────

#[test]
fn personal_data() {
    let flagged = [
        "Мы позвоним вам на номер +7 (912) 345-67-89.",
        "Напишите на ivan.petrov@mail.ru — мы ответим.",
        "Курьер приедет по адресу ул. Ленина, д. 5, кв. 12.",
        "Заказ № 458213 будет доставлен завтра.",
        "Номер вашего заказа 458213.",
        "Ми зателефонуємо вам на +380 67 123 4567.",
        "Кур'єр приїде на вулицю Хрещатик, 22.",
        "Замовлення №45821 доставимо завтра.",
        "We will call you on 020 7946 0958.",
        "Your order #A-458213 will arrive tomorrow.",
        "The courier will come to 221 Baker Street.",
        "Договор 2023-1187 расторгнут.",
    ];
    let fine = [
        "Мы вернём деньги в течение 2 часов.",
        "Курьер приедет сегодня с 10:00 до 18:00.",
        "Дарим скидку 20% на следующий заказ.",
        "Заказ на 5000 рублей доставим завтра.",
        "Мы связались с вами в личных сообщениях.",
        "Напишите нам на support@shop.example — ответим за час.",
        "Позвоните на горячую линию 8 800 555-35-35.",
        "Ми зв'язалися з вами в особистих повідомленнях.",
        "We have contacted you in private messages.",
        "We will refund you within 24 hours, on 15.05.2024.",
    ];
    assert_rule("personal_data", Kind::Complaint, true, &flagged, &fine);
    assert_rule("personal_data", Kind::Complaint, false, &[], &flagged);
}

#[test]
fn personal_data_suggests_moving_to_a_private_channel() {
    let rules = builtin();
    let finding = findings(rules, "Позвоним на +7 912 345-67-89.", Kind::Question, true)
        .into_iter()
        .find(|f| f.rule == "personal_data")
        .expect("a phone number is flagged");
    assert_eq!(finding.words, "+7 912 345-67-89");
    assert!(finding.suggestion.expect("a rewording").contains("связались с вами"));
}

// ── rudeness ────────────────────────────────────────────────────────────────────────────────

#[test]
fn rudeness_ru() {
    assert_rule(
        "rudeness",
        Kind::Complaint,
        true,
        &[
            "Это бред.",
            "Не ваше дело, как мы работаем.",
            "Это ваши проблемы.",
            "Это не наша проблема.",
            "Нам всё равно.",
            "Успокойтесь, пожалуйста.",
            "Хватит ныть.",
            "Не нравится — не покупайте.",
            "Жалуйтесь куда хотите.",
            "Сколько можно повторять одно и то же?",
            "Вам же объяснили, что доставка платная.",
            "Вы читать не умеете?",
            "Научитесь читать условия.",
            "Мы не обязаны отвечать на такие отзывы.",
            "Чего вы от нас хотите?",
            "Не морочьте голову.",
            "Ты что, идиот?",
        ],
        &[
            "Мы решим ваши проблемы с доставкой сегодня.",
            "Нам всё равно важно ваше мнение.",
            "Понимаем ваше недовольство.",
            "Что вы хотите получить в качестве компенсации?",
        ],
    );
}

#[test]
fn rudeness_uk() {
    assert_rule(
        "rudeness",
        Kind::Complaint,
        true,
        &[
            "Це маячня.",
            "Не ваша справа, як ми працюємо.",
            "Це ваші проблеми.",
            "Це не наша проблема.",
            "Нам байдуже.",
            "Заспокойтеся.",
            "Досить скиглити.",
            "Не подобається — не купуйте.",
            "Скільки можна повторювати?",
            "Вам же пояснили, що доставка платна.",
            "Навчіться читати умови.",
            "Ми не зобов'язані відповідати.",
        ],
        &[
            "Ми розв'яжемо ваші проблеми з доставкою сьогодні.",
            "Розуміємо ваше невдоволення.",
            "Нам все одно важлива ваша думка.",
        ],
    );
}

#[test]
fn rudeness_en() {
    assert_rule(
        "rudeness",
        Kind::Complaint,
        true,
        &[
            "That's nonsense.",
            "This is ridiculous.",
            "That's your problem, not ours.",
            "It is not our problem.",
            "We don't care.",
            "Calm down.",
            "Stop whining.",
            "If you don't like it, shop elsewhere.",
            "Can't you read?",
            "How many times do we have to tell you?",
            "We already told you twice.",
            "Deal with it.",
        ],
        &[
            "We will solve your delivery problem today.",
            "We understand your frustration.",
            "We care about every order.",
            "We hope you like it and shop with us again.",
        ],
    );
}

// ── jargon ──────────────────────────────────────────────────────────────────────────────────

#[test]
fn jargon() {
    assert_rule(
        "jargon",
        Kind::Complaint,
        true,
        &[
            "Мы создали тикет.",
            "Ваш тикет передан дальше.",
            "Мы сделали эскалацию на вторую линию.",
            "Срок по SLA — 24 часа.",
            "Бэкофис обработает заказ.",
            "Задача в бэклоге.",
            "Ми створили тікет.",
            "Ми зробили ескалацію.",
            "Your issue is in our backlog.",
            "We escalated it to tier 2.",
            "The back office will process the refund.",
        ],
        &[
            "Мы передали ваше обращение руководителю.",
            "Ми передали ваше звернення керівникові.",
            "We passed your request to a manager.",
            "Ваш багаж доставят завтра.",
        ],
    );
}

#[test]
fn jargon_suggests_a_plain_word_in_the_drafts_language() {
    let rules = builtin();
    for (text, expected) in [
        ("Мы создали тикет.", "обращение"),
        ("Ми створили тікет.", "звернення"),
        ("Your issue is in the backlog.", "list"),
    ] {
        let finding = findings(rules, text, Kind::Question, false)
            .into_iter()
            .find(|f| f.rule == "jargon")
            .expect("jargon is flagged");
        assert_eq!(finding.severity, Severity::Warning);
        assert!(finding.suggestion.expect("a plain word").contains(expected), "{text}");
    }
}

// ── hiding_behind_internal_problems ─────────────────────────────────────────────────────────

#[test]
fn hiding_behind_internal_problems() {
    assert_rule(
        "hiding_behind_internal_problems",
        Kind::Complaint,
        true,
        &[
            "У нас сбой в системе, поэтому заказ задержался.",
            "Программа зависла, и заказ не оформился.",
            "Из-за большого количества заказов доставка задерживается.",
            "У нас не хватает курьеров.",
            "Это не наш отдел.",
            "Обращайтесь в другой отдел.",
            "Мы не отвечаем за работу курьерской службы.",
            "От нас это не зависит.",
            "Виновата служба доставки.",
            "У нас збій у системі, тому замовлення затрималося.",
            "Це не наш відділ.",
            "Через велику кількість замовлень доставка затримується.",
            "Our system is down, so we can't help.",
            "That's not our department.",
            "Due to high volume, replies are delayed.",
            "It's the courier's fault.",
        ],
        &[
            "Мы устранили сбой в системе и вернём деньги сегодня.",
            "Наш отдел доставки свяжется с вами сегодня.",
            "Ми усунули збій у системі й повернемо кошти сьогодні.",
            "We have fixed the glitch in our system and refunded you.",
        ],
    );
}

// ── whole replies ─────────────────────────────────────────────────────────────────────────

#[test]
fn realistic_good_replies_have_no_findings() {
    let rules = builtin();
    let good: &[(Kind, bool, &str)] = &[
        (
            Kind::Complaint,
            true,
            "Ольга, добрый день! Просим прощения за опоздание курьера — это наша ошибка. Мы уже связались с вами в личных сообщениях: новый курьер привезёт заказ сегодня с 15:00 до 17:00, а доставку вернём на карту.",
        ),
        (
            Kind::Complaint,
            false,
            "Здравствуйте, Игорь! Извините, что так вышло: в накладной была ошибка, и посылка ушла не туда. Мы уже отправили новую посылку, она будет у вас завтра до 12:00. Номер отправления пришлём SMS.",
        ),
        (
            Kind::Complaint,
            true,
            "Добрий день, Олено! Перепрошуємо за затримку — це наша провина. Ми написали вам в особисті повідомлення: кур'єр привезе замовлення завтра до 14:00, а вартість доставки повернемо.",
        ),
        (
            Kind::Complaint,
            false,
            "Вітаємо! Вибачте за незручності. Ми перевірили замовлення: на складі сталася помилка під час пакування. Нову пару надішлемо сьогодні, вона буде у вас у четвер.",
        ),
        (
            Kind::Complaint,
            true,
            "Hi Mark, we're really sorry about the damaged parcel, that's on us. We've messaged you privately and will send a replacement today; it should reach you by Thursday.",
        ),
        (
            Kind::Complaint,
            false,
            "Hello Sarah, we apologise for the wrong size. We have arranged a free exchange: a courier will collect the parcel tomorrow between 10 am and 2 pm and bring the right size at the same time.",
        ),
        (
            Kind::Praise,
            true,
            "Спасибо, Мария! Очень рады, что вам понравилось. Будем благодарны, если поделитесь отзывом с друзьями.",
        ),
        (
            Kind::Question,
            true,
            "Здравствуйте! Доставка по Москве занимает 1–2 дня, подробнее — на странице «Доставка». Если останутся вопросы, пишите, ответим в течение часа.",
        ),
        (
            Kind::Idea,
            true,
            "Thanks for the suggestion! We've passed it to our product team and will get back to you by the end of the month.",
        ),
        (Kind::Question, true, "Дякуємо за запитання! Так, у нас можна оплатити карткою під час отримання."),
        (
            Kind::Complaint,
            false,
            "Анна, извините нас. Курьер опоздал на два часа — это недопустимо. Мы вернём стоимость доставки сегодня и поговорим с курьерской службой, чтобы это не повторилось.",
        ),
    ];
    let mut wrong = Vec::new();
    for (kind, public, text) in good {
        let found = check(
            rules,
            &Draft { text, kind: *kind, public: *public, language: None, purpose: None, audience: None },
            Language::En,
        );
        if !found.is_empty() {
            wrong.push(format!(
                "{:?}: {text}",
                found.iter().map(|f| (f.rule.as_str(), f.words.as_str())).collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn realistic_bad_replies_are_flagged() {
    let rules = builtin();
    let bad: &[(&str, &str)] = &[
        ("blame_customer", "Уважаемый клиент, вы сами выбрали неправильный размер."),
        ("blame_customer", "Заказ оформлен вами с ошибкой."),
        ("blame_customer", "Вы не забрали посылку вовремя, поэтому она вернулась."),
        ("blame_customer", "Ви не забрали посилку вчасно."),
        ("blame_customer", "You failed to pick up the parcel on time."),
        ("demand_proof", "Приложите доказательства брака, иначе рассмотрение невозможно."),
        ("demand_proof", "Пока вы не докажете, что это наш товар, мы ничего делать не будем."),
        ("who_is_right", "Уважаемые комментаторы, клиент сам виноват, мы правы."),
        ("first_person_singular", "Добрый день, с вами Екатерина, моя задача — помочь вам."),
        ("rudeness", "Ну и что, что опоздали на 10 минут?"),
        ("rudeness", "Не надо тут скандалить."),
        ("rudeness", "Whatever, we don't care about your review."),
        ("jargon", "Ваше обращение взято в работу по SLA."),
        ("hiding_behind_internal_problems", "Поставщик подвёл, поэтому заказ задерживается."),
        ("hiding_behind_internal_problems", "Сейчас большая загруженность, поэтому ответ задерживается."),
        ("personal_data", "Иван Петров, ваш заказ по адресу ул. Садовая 12 доставлен."),
    ];
    let mut wrong = Vec::new();
    for (rule, text) in bad {
        let found = check(
            rules,
            &Draft { text, kind: Kind::Complaint, public: true, language: None, purpose: None, audience: None },
            Language::En,
        );
        if !found.iter().any(|f| f.rule == *rule) {
            wrong.push(format!("{rule}: {text}"));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

// ── explanations, the rules file, business extensions ───────────────────────────────────────

#[test]
fn explanation_follows_the_agents_language() {
    let rules = builtin();
    let draft = Draft {
        text: "Вы допустили ошибку.",
        kind: Kind::Question,
        public: false,
        language: None,
        purpose: None,
        audience: None,
    };
    for (agent, expected) in [(Language::Ru, "упрёк"), (Language::Uk, "докір"), (Language::En, "blames")] {
        let finding = check(rules, &draft, agent).into_iter().find(|f| f.rule == "blame_customer").expect("flagged");
        assert!(finding.explanation.contains(expected), "{agent}: {}", finding.explanation);
        assert!(finding.explanation.contains("Вы допустили ошибку"), "{}", finding.explanation);
    }
}

#[test]
fn a_clean_complaint_reply_has_no_findings() {
    let rules = builtin();
    let text = "Анна, приносим извинения за задержку — это наша ошибка. Мы связались с вами в личных \
                сообщениях: курьер привезёт заказ сегодня до 18:00.";
    assert_eq!(findings(rules, text, Kind::Complaint, true), []);
}

#[test]
fn findings_serialize_in_snake_case() {
    let rules = builtin();
    let finding = findings(rules, "Мы создали тикет.", Kind::Question, false).remove(0);
    let json = serde_json::to_value(&finding).expect("serializes");
    assert_eq!(json["rule"], "jargon");
    assert_eq!(json["severity"], "warning");
    assert_eq!(json["span"], serde_json::json!([20, 30]));
    assert_eq!(json["words"], "тикет");
}

#[test]
fn rules_file_errors_name_the_line() {
    let bad_pattern = "[[rule]]\nid = \"x\"\ncheck = \"forbid\"\nseverity = \"error\"\nexplanation.en = \"x\"\npatterns.en = [\n  \"fine\",\n  \"... bad\",\n]\n";
    let error = Rules::from_toml(bad_pattern).unwrap_err();
    assert_eq!(error.line, 8, "{error}");
    assert!(error.to_string().starts_with("line 8: "), "{error}");
    assert!(error.message.contains("gap"), "{error}");

    let bad_severity = "[[rule]]\nid = \"x\"\ncheck = \"forbid\"\nseverity = \"fatal\"\nexplanation.en = \"x\"\n";
    let error = Rules::from_toml(bad_severity).unwrap_err();
    assert_eq!(error.line, 4, "{error}");
    assert!(error.message.contains("fatal"), "{error}");

    let bad_regex =
        "[[rule]]\nid = \"x\"\ncheck = \"forbid\"\nseverity = \"error\"\nexplanation.en = \"x\"\nregex.any = ['(']\n";
    let error = Rules::from_toml(bad_regex).unwrap_err();
    assert_eq!(error.line, 6, "{error}");

    let no_explanation = "\n[[rule]]\nid = \"x\"\ncheck = \"forbid\"\nseverity = \"error\"\n";
    let error = Rules::from_toml(no_explanation).unwrap_err();
    assert_eq!(error.line, 2, "{error}");
    assert!(error.message.contains("explanation"), "{error}");

    let syntax = "disable = [\"a\"\n[jargon]\n";
    assert!(Rules::from_toml(syntax).is_err());
}

#[test]
fn business_file_adds_jargon_rules_and_phrases() {
    let business = r#"
[jargon]
ru = ["лид => потенциальный клиент", "воронк* => "]

[[add]]
rule = "rudeness"
patterns.ru = ["=чайник|=чайники"]

[[rule]]
id = "competitor_names"
check = "forbid"
severity = "warning"
explanation.ru = "Не называйте конкурентов: «{words}»."
patterns.any = ["=megashop"]
"#;
    let rules = Rules::builtin_with(business).expect("the business file is valid");
    let found = findings(&rules, "Ваш лид попал в воронку, а MegaShop так не умеет. Вы чайник.", Kind::Question, false);
    let rules_found: Vec<(&str, &str)> = found.iter().map(|f| (f.rule.as_str(), f.words.as_str())).collect();
    assert!(rules_found.contains(&("jargon", "лид")), "{rules_found:?}");
    assert!(rules_found.contains(&("jargon", "воронку")), "{rules_found:?}");
    assert!(rules_found.contains(&("rudeness", "чайник")), "{rules_found:?}");
    assert!(rules_found.contains(&("competitor_names", "MegaShop")), "{rules_found:?}");
    let lead = found.iter().find(|f| f.words == "лид").expect("lead is flagged");
    assert_eq!(lead.suggestion.as_deref(), Some("потенциальный клиент"));
    // The built-in jargon is still there.
    assert!(findings(&rules, "Мы создали тикет.", Kind::Question, false).iter().any(|f| f.rule == "jargon"));
}

#[test]
fn business_file_disables_rules_by_id() {
    let rules = Rules::builtin_with("disable = [\"first_person_singular\", \"jargon\"]").expect("valid");
    assert!(rules.ids().all(|id| id != "first_person_singular" && id != "jargon"));
    let found = findings(&rules, "Я создал тикет.", Kind::Question, true);
    assert_eq!(found, []);
}

#[test]
fn business_file_naming_an_unknown_rule_is_an_error_with_its_line() {
    let error = Rules::builtin_with("\n\ndisable = [\"no_such_rule\"]").unwrap_err();
    assert_eq!(error.line, 3, "{error}");
    assert!(error.message.contains("no_such_rule"), "{error}");
    let error = Rules::builtin_with("[[add]]\nrule = \"nope\"\npatterns.en = [\"x\"]\n").unwrap_err();
    assert_eq!(error.line, 1, "{error}");
}

#[test]
fn builtin_rules_have_every_rule_and_explanations_in_three_languages() {
    let rules = builtin();
    let ids: Vec<&str> = rules.ids().collect();
    for id in [
        "blame_customer",
        "demand_proof",
        "who_is_right",
        "first_person_singular",
        "missing_apology",
        "missing_next_step",
        "missing_time",
        "personal_data",
        "rudeness",
        "jargon",
        "hiding_behind_internal_problems",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
}

#[test]
fn language_is_taken_from_the_draft_when_given() {
    let rules = builtin();
    // Without a hint this short reply reads as Russian; the agent says it is Ukrainian.
    let draft = Draft {
        text: "Ви помилилися.",
        kind: Kind::Complaint,
        public: false,
        language: Some(Language::Uk),
        purpose: None,
        audience: None,
    };
    let apology =
        check(rules, &draft, Language::En).into_iter().find(|f| f.rule == "missing_apology").expect("flagged");
    assert!(apology.suggestion.expect("a suggestion").contains("Просимо вибачення"));
}

// ── templates ───────────────────────────────────────────────────────────────────────────────

fn sample_values(language: Language) -> Vec<(&'static str, &'static str)> {
    match language {
        Language::Uk => vec![
            ("customer_name", "Ганно"),
            ("problem", "затримку доставки"),
            ("solution", "передали замовлення кур'єрові"),
            ("due", "сьогодні до 18:00"),
            ("reference", "OT-1042"),
            ("area", "доставку"),
            ("answer", "Доставка містом безкоштовна."),
            ("lead_name", "Іриною"),
        ],
        Language::En => vec![
            ("customer_name", "Anna"),
            ("problem", "the late delivery"),
            ("solution", "sending your order with a courier"),
            ("due", "today by 6 pm"),
            ("reference", "OT-1042"),
            ("area", "delivery"),
            ("answer", "Delivery in the city is free."),
            ("lead_name", "Irina"),
        ],
        _ => vec![
            ("customer_name", "Анна"),
            ("problem", "задержку доставки"),
            ("solution", "передали заказ курьеру"),
            ("due", "сегодня до 18:00"),
            ("reference", "OT-1042"),
            ("area", "доставку"),
            ("answer", "Доставка по городу бесплатная."),
            ("lead_name", "Ириной"),
        ],
    }
}

#[test]
fn every_template_passes_the_checker() {
    let rules = builtin();
    for template in standard::templates() {
        let text = template.fill(&sample_values(template.language));
        assert!(!text.contains('{'), "unfilled placeholder: {text}");
        let audiences = match template.public {
            Some(public) => vec![public],
            None => vec![true, false],
        };
        for public in audiences {
            let draft = Draft {
                text: &text,
                kind: template.kind,
                public,
                language: Some(template.language),
                purpose: None,
                audience: None,
            };
            let found = check(rules, &draft, Language::En);
            assert_eq!(found, [], "{:?} {:?} public={public}: {text}", template.kind, template.language);
        }
    }
}

#[test]
fn there_is_a_template_for_every_kind_language_and_audience() {
    for kind in [Kind::Complaint, Kind::Idea, Kind::Question, Kind::Praise, Kind::Referral] {
        for language in [Language::Ru, Language::Uk, Language::En] {
            for public in [true, false] {
                let template = standard::template(kind, language, public);
                assert!(template.is_some(), "{kind} {language} public={public}");
            }
        }
    }
    let public = standard::template(Kind::Complaint, Language::Ru, true).expect("exists");
    assert_eq!(public.public, Some(true));
    assert!(public.placeholders().contains(&"due"));
}

#[test]
fn templates_file_errors_name_the_line() {
    let error = standard::parse_templates("[[template]]\nkind = \"complaint\"\nlanguage = \"ru\"\ntext = \"{Name}\"\n")
        .unwrap_err();
    assert_eq!(error.line, 1, "{error}");
    let error =
        standard::parse_templates("[[template]]\nkind = \"gripe\"\nlanguage = \"ru\"\ntext = \"x\"\n").unwrap_err();
    assert_eq!(error.line, 2, "{error}");
}

// ── Rules by purpose ──────────────────────────────────────────────────────────────────────

/// The error rules a complaint message of `purpose` breaks.
fn errors_for(purpose: &str, text: &str) -> Vec<String> {
    let draft =
        Draft { text, kind: Kind::Complaint, public: false, language: None, purpose: Some(purpose), audience: None };
    check(builtin(), &draft, Language::En)
        .into_iter()
        .filter(|finding| finding.severity == Severity::Error)
        .map(|finding| finding.rule)
        .collect()
}

/// A purpose, messages of it that pass, and messages flagged with the named rule.
type PurposeCase = (&'static str, &'static [&'static str], &'static [(&'static str, &'static str)]);

/// For each purpose: messages that must pass (no error) and messages that must be flagged with
/// the named rule, in Russian, Ukrainian and English.
#[test]
fn each_purpose_is_held_to_its_own_rules() {
    let cases: &[PurposeCase] = &[
        (
            "apology",
            &[
                "Приносим извинения за задержку — это наша ошибка. Мы заменим товар сегодня до 18:00.",
                "Просимо вибачення за затримку — це наша помилка. Ми замінимо товар сьогодні до 18:00.",
                "We are sorry for the delay; this is our mistake. We will replace the item today by 6 pm.",
            ],
            &[
                ("Мы заменим товар сегодня до 18:00.", "missing_apology"),
                ("Ми замінимо товар сьогодні до 18:00.", "missing_apology"),
                ("We will replace the item today by 6 pm.", "missing_apology"),
                ("Приносим извинения. Мы заменим товар.", "missing_time"),
            ],
        ),
        (
            "apology_again",
            &[
                "Простите, что с первого раза не получилось. Мы привезём новый заказ завтра до 12:00.",
                "Вибачте, що з першого разу не вийшло. Ми привеземо нове замовлення завтра до 12:00.",
                "We are sorry it did not work the first time. We will deliver a new order tomorrow by noon.",
            ],
            &[
                ("Мы привезём новый заказ завтра до 12:00.", "missing_apology"),
                ("Ми привеземо нове замовлення завтра до 12:00.", "missing_apology"),
                ("We are sorry it did not work the first time.", "missing_next_step"),
            ],
        ),
        (
            "progress",
            &[
                "Мы передали заказ курьеру, он привезёт его сегодня до 19:00.",
                "Ми передали замовлення кур'єру, він привезе його сьогодні до 19:00.",
                "We have passed your order to the courier; he will deliver it today by 7 pm.",
            ],
            &[
                ("Мы проверим склад и перезвоним.", "missing_time"),
                ("Ми перевіримо склад і передзвонимо.", "missing_time"),
                ("We will check the stock and call you back.", "missing_time"),
                ("Работа идёт.", "missing_next_step"),
            ],
        ),
        (
            "confirmation_request",
            &[
                "Подскажите, пожалуйста, всё ли теперь в порядке с заказом?",
                "Підкажіть, будь ласка, чи все тепер гаразд із замовленням?",
                "Could you tell us whether everything is in order with your order now?",
            ],
            &[
                ("Вы сами виноваты, что указали не тот адрес. Всё ли теперь в порядке?", "blame_customer"),
                ("Ви самі винні, що вказали не ту адресу. Чи все тепер гаразд?", "blame_customer"),
                ("It was your fault for giving the wrong address. Is everything in order now?", "blame_customer"),
                ("Всё ли в порядке? Если нет, мы перезвоним.", "missing_time"),
            ],
        ),
        (
            "thanks",
            &[
                "Спасибо, что рассказали нам об этом!",
                "Дякуємо, що розповіли нам про це!",
                "Thank you for telling us about it!",
            ],
            &[
                ("Спасибо. Это ваша ошибка.", "blame_customer"),
                ("Дякуємо. Це ваша помилка.", "blame_customer"),
                ("Thank you. This is your mistake.", "blame_customer"),
            ],
        ),
        (
            "refusal",
            &[
                "К сожалению, вернуть деньги за вскрытый товар мы не можем: по закону о защите прав потребителей он обмену не подлежит. Вместо этого мы можем предложить скидку 15% на следующий заказ.",
                "На жаль, повернути кошти за розпакований товар ми не можемо: за законом про захист прав споживачів він обміну не підлягає. Натомість ми можемо запропонувати знижку 15% на наступне замовлення.",
                "Unfortunately we cannot refund an opened item: under consumer protection law it cannot be returned. Instead, we can offer you 15% off your next order.",
            ],
            &[
                (
                    "К сожалению, вернуть деньги мы не можем. Вместо этого предлагаем скидку 15%.",
                    "refusal_without_reason",
                ),
                ("На жаль, повернути кошти ми не можемо. Натомість пропонуємо знижку 15%.", "refusal_without_reason"),
                ("Unfortunately we cannot refund it. Instead, we can offer you 15% off.", "refusal_without_reason"),
                ("Вернуть деньги мы не можем по закону о защите прав потребителей.", "refusal_without_alternative"),
                ("Повернути кошти ми не можемо за законом про захист прав споживачів.", "refusal_without_alternative"),
                ("We cannot refund it because the law does not allow it.", "refusal_without_alternative"),
            ],
        ),
    ];
    let mut wrong = Vec::new();
    for (purpose, pass, flag) in cases {
        for text in *pass {
            let errors = errors_for(purpose, text);
            if !errors.is_empty() {
                wrong.push(format!("{purpose}: flagged {errors:?}: {text}"));
            }
        }
        for (text, rule) in *flag {
            let errors = errors_for(purpose, text);
            if !errors.iter().any(|error| error == rule) {
                wrong.push(format!("{purpose}: not flagged {rule} (got {errors:?}): {text}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_draft_without_a_purpose_is_checked_by_every_rule_of_its_kind_but_the_purpose_only_ones() {
    let text = "Спасибо, что написали.";
    let unstated: Vec<String> =
        findings(builtin(), text, Kind::Complaint, false).into_iter().map(|finding| finding.rule).collect();
    for rule in ["missing_apology", "missing_next_step", "missing_time"] {
        assert!(unstated.iter().any(|found| found == rule), "{rule}: {unstated:?}");
    }
    assert!(!unstated.iter().any(|found| found.starts_with("refusal_")), "{unstated:?}");
}

#[test]
fn a_rule_applying_if_another_is_found_must_name_one_that_exists() {
    let business = r#"
[[rule]]
id = "needs_link"
check = "require"
severity = "warning"
if_found = "no_such_rule"
explanation.en = "x"
patterns.en = ["=link"]
"#;
    let error = Rules::builtin_with(business).unwrap_err();
    assert!(error.message.contains("no_such_rule"), "{error}");
    assert_eq!(error.line, 2);
    builtin().check_references().unwrap();
    assert!(builtin().purposes().contains(&"refusal"));
}

// ── misinformed_without_fact ────────────────────────────────────────────────────────────────

/// Whether `rule` flags `text` as a public reply to the `audience`.
fn flags_for_audience(rule: &str, text: &str, audience: otklik_core::Audience) -> bool {
    let draft =
        Draft { text, kind: Kind::Unclassified, public: true, language: None, purpose: None, audience: Some(audience) };
    check(builtin(), &draft, Language::En).iter().any(|finding| finding.rule == rule)
}

#[test]
fn a_reply_to_the_misinformed_carries_a_fact_or_a_link() {
    use otklik_core::Audience;
    let rule = "misinformed_without_fact";
    let flagged = [
        "Это неправда, не распространяйте слухи.",
        "Це неправда, не поширюйте чутки.",
        "That is not true, please do not spread rumours.",
    ];
    let fine = [
        "На самом деле доставка у нас бесплатная от 1000 рублей.",
        "Насправді доставка в нас безкоштовна, умови тут: https://zerno.example/delivery",
        "In fact, all our coffee is certified organic: see www.zerno.example/organic",
        "Спасибо за вопрос! Согласно сертификату, наши продукты без пальмового масла.",
    ];
    let mut wrong = Vec::new();
    for text in flagged {
        if !flags_for_audience(rule, text, Audience::Misinformed) {
            wrong.push(format!("not flagged: {text}"));
        }
        if flags_for_audience(rule, text, Audience::Dissatisfied) {
            wrong.push(format!("flagged for another audience: {text}"));
        }
    }
    for text in fine {
        if flags_for_audience(rule, text, Audience::Misinformed) {
            wrong.push(format!("flagged: {text}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // A draft whose audience is not known is not held to it.
    let unknown = Draft {
        text: flagged[0],
        kind: Kind::Unclassified,
        public: true,
        language: None,
        purpose: None,
        audience: None,
    };
    assert!(!check(builtin(), &unknown, Language::En).iter().any(|finding| finding.rule == rule));
}

#[test]
fn disabling_the_rule_another_applies_after_leaves_that_one_standing_alone() {
    let rules = Rules::builtin_with("disable = [\"missing_next_step\"]\n").expect("the file loads");
    let draft = Draft {
        text: "Приносим извинения.",
        kind: Kind::Complaint,
        public: false,
        language: None,
        purpose: Some("apology"),
        audience: None,
    };
    let found: Vec<String> = check(&rules, &draft, Language::En).into_iter().map(|f| f.rule).collect();
    assert!(found.contains(&"missing_time".to_owned()), "{found:?}");
    assert!(!found.contains(&"missing_next_step".to_owned()), "{found:?}");
}
