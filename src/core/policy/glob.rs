//! Shell-style globs for principals, tool names and URIs: `*` any run of characters, `?` one character.
//! A pattern without either is an exact match.

#[derive(Debug, Clone)]
pub struct Glob {
    pattern: Vec<char>,
    exact: bool,
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob {
            pattern: pattern.chars().collect(),
            exact: !pattern.contains(['*', '?']),
        }
    }

    pub fn is_exact(&self) -> bool {
        self.exact
    }

    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        if self.exact {
            return self.pattern == text;
        }
        // Iterative matcher with one backtrack point: linear in practice, no recursion on hostile input.
        let (p, t) = (&self.pattern, &text);
        let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
        while ti < t.len() {
            if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
                pi += 1;
                ti += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some(pi);
                mark = ti;
                pi += 1;
            } else if let Some(s) = star {
                pi = s + 1;
                mark += 1;
                ti = mark;
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_a_shell() {
        let sa = Glob::new("system:serviceaccount:agent-core-infra:*");
        assert!(sa.matches("system:serviceaccount:agent-core-infra:planning-agent-sa"));
        assert!(!sa.matches("system:serviceaccount:other:planning-agent-sa"));
        assert!(Glob::new("get_*_data").matches("get_weather_data"));
        assert!(Glob::new("store_?ser_preferences").matches("store_user_preferences"));
        assert!(Glob::new("*").matches(""));
        assert!(Glob::new("exact").matches("exact") && !Glob::new("exact").matches("exactly"));
        assert!(!Glob::new("a*b").matches("acbx"));
        assert!(Glob::new("a*b*c").matches("a__b__c"));
    }
}
