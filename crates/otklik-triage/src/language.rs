//! Tells the language of a message (Russian, Ukrainian, English or other) from its letters and its
//! most frequent words. Rules, not a model: they must hold on a two-word SMS, where a learner has
//! nothing to go on, and they must never take Ukrainian for Russian because the letters overlap.

use otklik_core::Language;
use otklik_core::text::{WordScript, word_script, words};

/// Frequent Ukrainian words written only with letters Russian shares (so the letters alone
/// cannot tell them apart), plus forms that differ from their Russian twin by one letter.
const UKRAINIAN_WORDS: &[&str] = &[
    "дякую",
    "дуже",
    "де",
    "що",
    "щось",
    "як",
    "коли",
    "чому",
    "навіщо",
    "зараз",
    "вже",
    "ще",
    "та",
    "або",
    "чи",
    "мене",
    "мені",
    "моє",
    "мою",
    "моя",
    "мій",
    "ваше",
    "вашу",
    "вашого",
    "будь",
    "ласка",
    "добрий",
    "вечір",
    "доброго",
    "привіт",
    "вітаю",
    "немає",
    "нема",
    "треба",
    "можна",
    "можу",
    "буде",
    "було",
    "була",
    "був",
    "тому",
    "тобто",
    "також",
    "але",
    "теж",
    "зовсім",
    "завжди",
    "ніколи",
    "сьогодні",
    "вчора",
    "завтра",
    "замовлення",
    "питання",
    "повідомлення",
    "дзвонив",
    "дзвонила",
    "отримав",
    "отримала",
    "гарно",
    "гарна",
    "гарний",
    "ви",
    "вас",
    "вам",
    "якщо",
    "щоб",
    "адже",
    "куди",
    "звідки",
    "скільки",
    "гроші",
    "грошей",
    "кошти",
    "рахунок",
    "скарга",
    "пропоную",
    "раджу",
    "досі",
    "відповідь",
    "відповіли",
    "ціна",
    "ціни",
    "клієнт",
    "клієнтів",
    "подяка",
    "суперово",
    "жодного",
    "жодної",
    "нічого",
    "хтось",
    "добре",
    "погано",
    "ось",
    "це",
    "цей",
    "ця",
    "ці",
    "цього",
    "цим",
    "свій",
    "своє",
    "своїх",
    "їх",
    "їм",
    "його",
    "її",
    "ним",
    "неї",
    "бо",
    "наче",
    "мабуть",
    "звичайно",
    "просимо",
    "допоможіть",
];

/// Frequent Russian words written only with letters Ukrainian shares.
const RUSSIAN_WORDS: &[&str] = &[
    "спасибо",
    "пожалуйста",
    "где",
    "что",
    "чтобы",
    "как",
    "когда",
    "почему",
    "зачем",
    "сейчас",
    "уже",
    "еще",
    "или",
    "но",
    "мой",
    "моя",
    "мое",
    "мою",
    "мне",
    "меня",
    "ваш",
    "ваша",
    "ваше",
    "вашего",
    "здравствуйте",
    "привет",
    "добрый",
    "вечер",
    "нет",
    "да",
    "очень",
    "можно",
    "нужно",
    "надо",
    "будет",
    "было",
    "была",
    "был",
    "тоже",
    "также",
    "только",
    "всегда",
    "никогда",
    "сегодня",
    "вчера",
    "завтра",
    "заказ",
    "заказа",
    "вопрос",
    "сообщение",
    "звонил",
    "звонила",
    "получил",
    "получила",
    "хорошо",
    "плохо",
    "вас",
    "вам",
    "если",
    "куда",
    "откуда",
    "сколько",
    "деньги",
    "денег",
    "счет",
    "жалоба",
    "предлагаю",
    "советую",
    "до",
    "сих",
    "пор",
    "ответ",
    "ответили",
    "цена",
    "цены",
    "клиент",
    "клиентов",
    "благодарность",
    "ничего",
    "кто-то",
    "вот",
    "это",
    "этот",
    "эта",
    "эти",
    "свой",
    "свое",
    "своих",
    "их",
    "им",
    "его",
    "ее",
    "ним",
    "нее",
    "потому",
    "наверное",
    "конечно",
    "просим",
    "помогите",
    "спс",
    "пасиб",
    "норм",
];

/// Frequent English words: enough of them in a Latin-script text says it is English rather than
/// another language written in Latin letters (or Russian in transliteration).
const ENGLISH_WORDS: &[&str] = &[
    "the",
    "a",
    "an",
    "to",
    "is",
    "are",
    "was",
    "were",
    "and",
    "or",
    "but",
    "you",
    "your",
    "my",
    "i",
    "i'm",
    "it",
    "it's",
    "thanks",
    "thank",
    "thx",
    "please",
    "pls",
    "ok",
    "okay",
    "order",
    "not",
    "no",
    "yes",
    "for",
    "of",
    "in",
    "on",
    "with",
    "this",
    "that",
    "have",
    "has",
    "had",
    "can",
    "can't",
    "don't",
    "didn't",
    "why",
    "where",
    "when",
    "how",
    "what",
    "who",
    "still",
    "service",
    "good",
    "bad",
    "great",
    "hi",
    "hello",
    "hey",
    "dear",
    "love",
    "awesome",
    "terrible",
    "worst",
    "best",
    "would",
    "could",
    "should",
    "will",
    "be",
    "been",
    "me",
    "we",
    "our",
    "us",
    "they",
    "at",
    "from",
    "by",
    "about",
    "just",
    "so",
    "very",
    "really",
    "again",
    "never",
    "any",
    "all",
    "do",
    "does",
    "did",
    "get",
    "got",
    "if",
    "there",
    "here",
    "friend",
    "recommend",
    "nice",
];

/// How many votes one word with a letter only one of the two languages uses is worth, against one
/// frequent word: a letter is the surer sign.
const LETTER_VOTE: u32 = 2;

/// The language of a message. Ukrainian and Russian are told apart by letters only one of them
/// uses (і, ї, є, ґ and the apostrophe inside a word against ы, э, ъ, ё), by typical endings and by
/// frequent words; a tie between them goes to Russian, the more frequent one. A Latin-script text
/// is English only when it contains frequent English words.
pub fn detect_language(text: &str) -> Language {
    let (mut ukrainian, mut russian, mut english, mut latin, mut cyrillic) = (0, 0, 0, 0, 0);
    for raw in text.split_whitespace() {
        // `ё` is folded by `words`, so look at the raw token for it.
        if raw.contains(['ё', 'Ё']) {
            russian += LETTER_VOTE;
        }
    }
    for word in words(text) {
        match word_script(&word) {
            WordScript::Ukrainian => {
                cyrillic += 1;
                ukrainian += LETTER_VOTE;
            }
            WordScript::Russian => {
                cyrillic += 1;
                russian += LETTER_VOTE;
            }
            WordScript::Cyrillic => {
                cyrillic += 1;
                ukrainian += cyrillic_word_votes(&word, UKRAINIAN_WORDS, &["ння"]);
                russian += cyrillic_word_votes(&word, RUSSIAN_WORDS, &["ие", "ия"]);
                if word.contains('\'') {
                    ukrainian += LETTER_VOTE;
                }
            }
            WordScript::Latin => {
                latin += 1;
                if ENGLISH_WORDS.contains(&word.as_str()) {
                    english += 1;
                }
            }
            WordScript::Other => {}
        }
    }
    if cyrillic == 0 && latin == 0 {
        return Language::Other;
    }
    if latin > cyrillic {
        return if english > 0 { Language::En } else { Language::Other };
    }
    if ukrainian > russian { Language::Uk } else { Language::Ru }
}

/// The votes one Cyrillic word without a telling letter gives a language: one for a frequent
/// word of that language, one for a typical ending.
fn cyrillic_word_votes(word: &str, frequent: &[&str], endings: &[&str]) -> u32 {
    let frequent_vote = u32::from(frequent.contains(&word));
    let ending_vote =
        u32::from(frequent_vote == 0 && word.chars().count() > 4 && endings.iter().any(|e| word.ends_with(e)));
    frequent_vote + ending_vote
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_language(expected: Language, texts: &[&str]) {
        for text in texts {
            assert_eq!(detect_language(text), expected, "{text}");
        }
    }

    #[test]
    fn short_ukrainian_texts_are_ukrainian() {
        assert_language(
            Language::Uk,
            &[
                "Де моє замовлення?",
                "Дякую!",
                "дякую дуже",
                "Що з доставкою?",
                "Коли буде?",
                "Чому так довго",
                "п'ять днів чекаю",
                "Добрий день, замовлення досі нема",
                "Вже тиждень",
                "Будь ласка, передзвоніть",
            ],
        );
    }

    #[test]
    fn short_russian_texts_are_russian() {
        assert_language(
            Language::Ru,
            &[
                "Где мой заказ?",
                "Спасибо",
                "спс",
                "Что с доставкой?",
                "Когда будет?",
                "Почему так долго",
                "Всё отлично",
                "Здравствуйте, заказ до сих пор не пришел",
                "Уже неделю",
                "супер, рекомендую",
                "Пожалуйста, перезвоните",
                "Очень плохо",
            ],
        );
    }

    #[test]
    fn latin_text_is_english_only_with_english_words() {
        assert_language(Language::En, &["ok thanks", "Where is my order?", "great service!!"]);
        assert_language(Language::Other, &["Wo ist meine Bestellung", "12345", "🙂🙂", ""]);
    }

    #[test]
    fn mixed_script_goes_by_the_majority() {
        assert_eq!(detect_language("Заказ через Wildberries так и не пришел"), Language::Ru);
        assert_eq!(detect_language("My order from Київ is late"), Language::En);
    }
}
