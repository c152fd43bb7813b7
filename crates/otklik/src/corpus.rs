//! Realistic synthetic feedback for benchmarks: Russian, Ukrainian and English messages built from
//! phrases people actually write (late deliveries, rude staff, refunds, praise, ideas), so the
//! search index sees natural word forms and a natural spread of common and rare words.

use otklik_core::{Audience, Channel, Kind, NewCustomer, NewFeedback, Priority};
use rand::Rng;
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;

const RU_OPENINGS: &[&str] = &[
    "Здравствуйте!",
    "Добрый день.",
    "Пишу уже второй раз.",
    "Доброго вечера,",
    "Слушайте,",
    "Уважаемая поддержка,",
    "",
    "Не знаю, куда ещё написать.",
    "Спасибо, что читаете.",
    "Хочу оставить отзыв.",
];
const RU_BODIES: &[&str] = &[
    "Курьер опоздал на два часа и даже не позвонил",
    "заказ привезли холодным, пицца развалилась",
    "продавец в магазине на Тверской грубо ответил и отвернулся",
    "деньги за возврат до сих пор не пришли на карту",
    "в приложении не проходит оплата, пишет ошибку",
    "сотрудник банка отказался принять заявление без объяснения причин",
    "очередь в отделении была больше часа, работало одно окно",
    "интернет пропадает каждый вечер уже неделю",
    "в номере отеля не работал кондиционер, администратор обещал прислать мастера",
    "врач принял вовремя, всё объяснил, очень доволен",
    "огромное спасибо менеджеру Ольге за помощь с доставкой",
    "предлагаю добавить в приложение возможность выбрать время доставки",
    "было бы удобно оплачивать заказ частями",
    "подскажите, сколько стоит замена масла и есть ли запись на субботу",
    "как вернуть товар, если чек потерялся?",
    "мой коллега ищет сервис для корпоративных заказов, посоветовал вас",
    "на кассе пробили товар дважды, пришлось ждать старшего",
    "кофе был отличный, но музыка слишком громкая",
    "мастер приехал без запчастей и назначил новый визит через неделю",
    "списали абонентскую плату за услугу, которую я не подключал",
];
const RU_CLOSINGS: &[&str] = &[
    "Прошу разобраться.",
    "Жду ответа.",
    "Спасибо!",
    "Верните деньги.",
    "Очень разочарован.",
    "Буду рекомендовать друзьям.",
    "",
    "Надеюсь на понимание.",
    "Это уже третья жалоба.",
    "Позвоните мне, пожалуйста.",
];
const UK_OPENINGS: &[&str] =
    &["Доброго дня!", "Вітаю.", "Пишу вдруге.", "Шановна підтримко,", "", "Хочу залишити відгук."];
const UK_BODIES: &[&str] = &[
    "кур'єр запізнився на дві години і не зателефонував",
    "замовлення привезли холодним, піца розвалилася",
    "продавець у магазині грубо відповів і відвернувся",
    "гроші за повернення досі не надійшли на картку",
    "у застосунку не проходить оплата, пише помилку",
    "черга у відділенні була понад годину",
    "інтернет зникає щовечора вже тиждень",
    "дуже дякую менеджерці Олені за допомогу з доставкою",
    "пропоную додати можливість обрати час доставки",
    "підкажіть, скільки коштує заміна оливи",
    "мій колега шукає сервіс для корпоративних замовлень, порадив вас",
    "лікар прийняв вчасно, все пояснив, дуже задоволена",
];
const UK_CLOSINGS: &[&str] =
    &["Прошу розібратися.", "Чекаю на відповідь.", "Дякую!", "Поверніть гроші.", "", "Це вже третя скарга."];
const EN_OPENINGS: &[&str] =
    &["Hi,", "Hello team,", "Dear support,", "", "Second time writing about this.", "Quick note:"];
const EN_BODIES: &[&str] = &[
    "the courier was two hours late and never called",
    "my order arrived cold and the pizza was falling apart",
    "the cashier was rude and ignored my question",
    "the refund still has not reached my card after three weeks",
    "payment keeps failing in the app with an error",
    "the queue at the branch took over an hour with one window open",
    "the internet drops every evening for a week now",
    "huge thanks to Olga for sorting out my delivery",
    "it would be great to choose a delivery time slot in the app",
    "how much does an oil change cost and can I book for Saturday?",
    "a colleague of mine needs corporate catering, I recommended you",
    "the doctor saw me on time and explained everything, very happy",
];
const EN_CLOSINGS: &[&str] =
    &["Please sort this out.", "Waiting for your reply.", "Thanks!", "I want my money back.", "", "Not impressed."];
const LOCATIONS: &[&str] =
    &["Тверская, 1", "Невский, 28", "Хрещатик, 22", "Online", "Mall Avenue 5", "Аэропорт, терминал B"];
const PRODUCTS: &[&str] = &["pizza", "mobile", "mortgage", "delivery", "internet", "insurance", "car service", "hotel"];

/// One synthetic message: text, channel, location and product, in a random language.
pub fn feedback(rng: &mut SmallRng) -> NewFeedback {
    let (openings, bodies, closings) = match rng.random_range(0..10) {
        0..=4 => (RU_OPENINGS, RU_BODIES, RU_CLOSINGS),
        5..=7 => (UK_OPENINGS, UK_BODIES, UK_CLOSINGS),
        _ => (EN_OPENINGS, EN_BODIES, EN_CLOSINGS),
    };
    let mut text = String::new();
    for part in [openings.choose(rng), bodies.choose(rng)] {
        text.push_str(part.copied().unwrap_or_default());
        text.push(' ');
    }
    if rng.random_bool(0.4) {
        text.push_str(", ");
        text.push_str(bodies.choose(rng).copied().unwrap_or_default());
    }
    text.push_str(". ");
    text.push_str(closings.choose(rng).copied().unwrap_or_default());
    // A rare word (an order number or a name) in most messages, as real feedback has.
    if rng.random_bool(0.7) {
        text.push_str(&format!(" #{}", rng.random_range(100_000..999_999)));
    }
    let channels = [Channel::Web, Channel::Email, Channel::Telegram, Channel::Sms, Channel::Social, Channel::Review];
    NewFeedback {
        channel: *channels.choose(rng).unwrap_or(&Channel::Web),
        subject: None,
        text: text.trim().to_owned(),
        customer: NewCustomer::default(),
        location: LOCATIONS.choose(rng).map(|l| (*l).to_owned()),
        product: PRODUCTS.choose(rng).map(|p| (*p).to_owned()),
        public: rng.random_bool(0.2),
        kind: Kind::Unclassified,
        stage: "new".parse().expect("`new` is a stage name"),
        status: otklik_core::Status::New,
        cause: None,
        sentiment: None,
        audience: Audience::None,
        hidden: false,
        language: None,
        priority: *[Priority::Low, Priority::Normal, Priority::Normal, Priority::High, Priority::Urgent]
            .choose(rng)
            .unwrap_or(&Priority::Normal),
        external_id: None,
        thread_key: None,
        source: String::new(),
        vouched: false,
        watch_at: None,
        // Due from two hours ago to three days ahead, as a desk's open cases are.
        due_at: Some(time::OffsetDateTime::now_utc() + time::Duration::minutes(rng.random_range(-120..4_320))),
        acknowledge: None,
        returning: None,
    }
}

/// Search queries an agent would type, from common words to rare phrases.
pub const QUERIES: &[&str] = &[
    "курьер опоздал",
    "возврат денег",
    "грубо",
    "доставка",
    "оплата ошибка",
    "кондиционер",
    "скарга",
    "повернення грошей",
    "кур'єр",
    "refund",
    "rude cashier",
    "delivery time",
    "очередь отделение",
    "интернет пропадает",
    "абонентская плата",
    "пицца холодная",
    "запчасти мастер",
    "замовлення",
    "oil change",
    "Ольга",
    "коллега",
    "корпоративных заказов",
];
