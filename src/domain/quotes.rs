//! The curated quotes about community and connection; one rides along with each
//! `connection_established`. The choice is a function of the connection id, so
//! both people (and every retry) see the same quote.

use uuid::Uuid;

/// Short quotes, each with its author.
pub(crate) const QUOTES: [&str; 32] = [
    "Alone we can do so little; together we can do so much. — Helen Keller",
    "The greatness of a community is most accurately measured by the compassionate actions of its members. — Coretta Scott King",
    "We rise by lifting others. — Robert Ingersoll",
    "Coming together is a beginning, staying together is progress, and working together is success. — Henry Ford",
    "No one is useless in this world who lightens the burdens of another. — Charles Dickens",
    "The police are the public and the public are the police. — Robert Peel",
    "Unity is strength; when there is teamwork and collaboration, wonderful things can be achieved. — Mattie Stepanek",
    "A kind word is like a spring day. — Russian proverb",
    "If you want to go fast, go alone. If you want to go far, go together. — African proverb",
    "Never doubt that a small group of thoughtful, committed citizens can change the world. — Margaret Mead",
    "We make a living by what we get, but we make a life by what we give. — Winston Churchill",
    "Kindness is the language which the deaf can hear and the blind can see. — Mark Twain",
    "The best way to find yourself is to lose yourself in the service of others. — Mahatma Gandhi",
    "Strangers are just friends waiting to happen. — Rod McKuen",
    "Connection is why we're here; it is what gives purpose and meaning to our lives. — Brené Brown",
    "Service to others is the rent you pay for your room here on earth. — Muhammad Ali",
    "We are all connected; to each other, biologically. — Neil deGrasse Tyson",
    "Trust is built with consistency. — Lincoln Chafee",
    "How wonderful it is that nobody need wait a single moment before starting to improve the world. — Anne Frank",
    "Be the change you wish to see in the world. — attributed to Mahatma Gandhi",
    "A neighbor is someone who is near enough to make a difference.",
    "Every conversation is a bridge.",
    "It takes a village.",
    "Small acts, when multiplied by millions of people, can transform the world. — Howard Zinn",
    "Life's most persistent and urgent question is: what are you doing for others? — Martin Luther King Jr.",
    "The good we secure for ourselves is precarious until it is secured for all of us. — Jane Addams",
    "In every community, there is work to be done. — Marianne Williamson",
    "Too often we underestimate the power of a touch, a smile, a kind word. — Leo Buscaglia",
    "Safety is something that happens between your ears, not something you hold in your hands. — Jeff Cooper",
    "A smile is the shortest distance between two people. — Victor Borge",
    "Hello is the first word of every friendship.",
    "Communities are built one conversation at a time.",
];

/// The quote for a connection: the same for both people and every retry.
pub(crate) fn quote_for(connection_id: Uuid) -> &'static str {
    let index = connection_id.as_u128() % QUOTES.len() as u128;
    QUOTES[usize::try_from(index).unwrap_or(0)]
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn quotes_are_short_distinct_and_many() {
        assert!(QUOTES.len() >= 30);
        let distinct: HashSet<&str> = QUOTES.iter().copied().collect();
        assert_eq!(distinct.len(), QUOTES.len());
        assert!(
            QUOTES
                .iter()
                .all(|quote| !quote.is_empty() && quote.len() <= 160)
        );
    }

    #[test]
    fn a_connection_always_gets_the_same_quote() {
        let id = Uuid::new_v4();
        assert_eq!(quote_for(id), quote_for(id));
        assert!(QUOTES.contains(&quote_for(id)));
    }
}
