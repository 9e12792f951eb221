//! The simulated account's followers and groups, and WeChat's rules for changing them.
//!
//! Membership is one `u32` per follower (its group id), indexed by follower index, and each group
//! keeps a running count, so a million followers cost 4 MB and `groups/get` never scans them.

use std::collections::BTreeMap;

use super::errcode::Errcode;
use super::openid::splitmix;

/// At most 500 groups per account, counting 0, 1 and 2.
pub(crate) const MAX_GROUPS: usize = 500;
/// "分组名字，30个字符以内": characters, not bytes (the seed's wording for the groups API).
pub(crate) const MAX_NAME_CHARS: usize = 30;
/// WeChat hands out user group ids from 100 upward.
const FIRST_USER_GROUP_ID: u32 = 100;

/// The system's own groups, which cannot be renamed or deleted.
const SYSTEM_GROUPS: [(u32, &str); 3] = [(0, "未分组"), (1, "黑名单"), (2, "星标组")];

/// Demo groups present from the start, and the share of followers (per mille) seeded into each,
/// so the demo account looks lived-in. Group 0 gets everyone not listed.
const SEED: [(u32, &str, u64); 6] = [
    (1, "黑名单", 4),
    (2, "星标组", 20),
    (100, "华东媒体", 60),
    (101, "VIP客户", 30),
    (102, "内部测试", 5),
    (103, "华南经销商", 45),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    pub(crate) name: String,
    pub(crate) count: u64,
}

/// Groups and who is in them.
#[derive(Debug)]
pub(crate) struct Account {
    groups: BTreeMap<u32, Group>,
    /// `membership[index]` is the group of the `index`-th follower.
    membership: Vec<u32>,
    /// Never decreases: WeChat does not reuse a deleted group's id.
    next_id: u32,
}

impl Account {
    /// An account with `followers` followers spread deterministically over the demo groups.
    pub(crate) fn seeded(followers: u32) -> Self {
        let mut groups: BTreeMap<u32, Group> = SYSTEM_GROUPS
            .iter()
            .map(|&(id, name)| {
                let group = Group {
                    name: name.to_owned(),
                    count: 0,
                };
                (id, group)
            })
            .collect();
        for &(id, name, _) in &SEED {
            groups.entry(id).or_insert_with(|| Group {
                name: name.to_owned(),
                count: 0,
            });
        }
        let membership: Vec<u32> = (0..followers).map(seed_group).collect();
        for &g in &membership {
            if let Some(group) = groups.get_mut(&g) {
                group.count += 1;
            }
        }
        let next_id = groups
            .keys()
            .next_back()
            .map_or(FIRST_USER_GROUP_ID, |&last| {
                (last + 1).max(FIRST_USER_GROUP_ID)
            });
        Self {
            groups,
            membership,
            next_id,
        }
    }

    pub(crate) fn followers(&self) -> u32 {
        // The vector was built from a u32 count and never grows.
        u32::try_from(self.membership.len()).unwrap_or(u32::MAX)
    }

    /// All groups, ordered by id.
    pub(crate) fn groups(&self) -> impl Iterator<Item = (u32, &Group)> {
        self.groups.iter().map(|(&id, g)| (id, g))
    }

    pub(crate) fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// The group of the `index`-th follower, if there is one.
    pub(crate) fn group_of(&self, index: u32) -> Option<u32> {
        self.membership.get(index as usize).copied()
    }

    /// `groups/create`. Duplicate names are allowed, see [`check_name`].
    pub(crate) fn create(&mut self, name: &str) -> Result<u32, Errcode> {
        check_name(name)?;
        if self.groups.len() >= MAX_GROUPS {
            return Err(Errcode::TooManyGroups);
        }
        let id = self.next_id;
        // Ids are signed 32-bit upstream; running out is WeChat's problem, shown as its -1.
        let next = id
            .checked_add(1)
            .filter(|&n| n <= i32::MAX as u32)
            .ok_or(Errcode::SystemError)?;
        self.next_id = next;
        self.groups.insert(
            id,
            Group {
                name: name.to_owned(),
                count: 0,
            },
        );
        Ok(id)
    }

    /// `groups/update`.
    pub(crate) fn rename(&mut self, id: u32, name: &str) -> Result<(), Errcode> {
        if is_system(id) {
            return Err(Errcode::SystemGroup);
        }
        if !self.groups.contains_key(&id) {
            return Err(Errcode::InvalidGroupId);
        }
        check_name(name)?;
        if let Some(g) = self.groups.get_mut(&id) {
            g.name = name.to_owned();
        }
        Ok(())
    }

    /// `groups/delete`: the group's members go back to group 0.
    ///
    /// System groups answer 45016, the groups API's own "system group" code (45058 belongs to the
    /// tags API, which this is not).
    pub(crate) fn delete(&mut self, id: u32) -> Result<(), Errcode> {
        if is_system(id) {
            return Err(Errcode::SystemGroup);
        }
        let Some(group) = self.groups.remove(&id) else {
            return Err(Errcode::InvalidGroupId);
        };
        if group.count > 0 {
            // The one O(followers) operation, and only when the group has members.
            for g in self.membership.iter_mut().filter(|g| **g == id) {
                *g = 0;
            }
            if let Some(ungrouped) = self.groups.get_mut(&0) {
                ungrouped.count += group.count;
            }
        }
        Ok(())
    }

    /// `groups/members/update` and `batchupdate`: moves every follower in `indexes` to `to`, or
    /// nobody if `to` does not exist. Moving into group 1 (the blacklist) is allowed.
    pub(crate) fn move_members(&mut self, indexes: &[u32], to: u32) -> Result<(), Errcode> {
        if !self.groups.contains_key(&to) {
            return Err(Errcode::InvalidGroupId);
        }
        if indexes.iter().any(|&i| i as usize >= self.membership.len()) {
            return Err(Errcode::InvalidOpenid);
        }
        for &i in indexes {
            let from = std::mem::replace(&mut self.membership[i as usize], to);
            if let Some(g) = self.groups.get_mut(&from) {
                g.count = g.count.saturating_sub(1);
            }
            if let Some(g) = self.groups.get_mut(&to) {
                g.count += 1;
            }
        }
        Ok(())
    }
}

fn is_system(id: u32) -> bool {
    id <= 2
}

/// The name rules of `groups/create` and `groups/update`.
///
/// Empty (or only whitespace) → 40051; more than 30 characters → 45017. Duplicate names are
/// allowed: the groups API never documented uniqueness, groups are addressed by id, and the shared
/// API notes warn that a retried create can leave two groups of the same name — the client must
/// cope with that, so the simulator must be able to produce it.
pub(crate) fn check_name(name: &str) -> Result<(), Errcode> {
    if name.trim().is_empty() {
        return Err(Errcode::InvalidGroupName);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Errcode::GroupNameTooLong);
    }
    Ok(())
}

/// Where the `index`-th follower starts: a hash of the index picks a share from [`SEED`].
fn seed_group(index: u32) -> u32 {
    let mut roll = splitmix(u64::from(index) ^ 0x5eed) % 1000;
    for &(id, _, per_mille) in &SEED {
        if roll < per_mille {
            return id;
        }
        roll -= per_mille;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts_match_membership(a: &Account) {
        for (id, g) in a.groups() {
            let real = a.membership.iter().filter(|&&m| m == id).count() as u64;
            assert_eq!(g.count, real, "group {id}");
        }
        let total: u64 = a.groups().map(|(_, g)| g.count).sum();
        assert_eq!(total, u64::from(a.followers()));
    }

    #[test]
    fn a_seeded_account_has_the_system_groups_and_demo_groups_with_right_counts() {
        let a = Account::seeded(10_000);
        let ids: Vec<u32> = a.groups().map(|(id, _)| id).collect();
        assert_eq!(ids, [0, 1, 2, 100, 101, 102, 103]);
        let names: Vec<&str> = a.groups().map(|(_, g)| g.name.as_str()).take(3).collect();
        assert_eq!(names, ["未分组", "黑名单", "星标组"]);
        counts_match_membership(&a);
        // Most followers are ungrouped, but every demo group has someone in it.
        let counts: Vec<u64> = a.groups().map(|(_, g)| g.count).collect();
        assert!(counts[0] > 8_000, "{counts:?}");
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
    }

    #[test]
    fn seeding_is_deterministic() {
        assert_eq!(
            Account::seeded(5_000).membership,
            Account::seeded(5_000).membership
        );
    }

    #[test]
    fn new_group_ids_continue_after_the_seeded_ones_and_are_never_reused() {
        let mut a = Account::seeded(10);
        let x = a.create("x").unwrap();
        assert_eq!(x, 104);
        a.delete(x).unwrap();
        assert_eq!(a.create("y").unwrap(), 105);
    }

    #[test]
    fn the_500th_group_is_the_last() {
        let mut a = Account::seeded(0);
        while a.group_count() < MAX_GROUPS {
            a.create("g").unwrap();
        }
        assert_eq!(a.create("one too many"), Err(Errcode::TooManyGroups));
        // Deleting one makes room again.
        a.delete(100).unwrap();
        assert!(a.create("fits again").is_ok());
    }

    #[test]
    fn names_are_checked_on_create_and_rename() {
        let mut a = Account::seeded(0);
        assert_eq!(a.create(""), Err(Errcode::InvalidGroupName));
        assert_eq!(a.create("   "), Err(Errcode::InvalidGroupName));
        assert!(a.create(&"测".repeat(30)).is_ok());
        assert_eq!(a.create(&"测".repeat(31)), Err(Errcode::GroupNameTooLong));
        assert_eq!(a.rename(100, ""), Err(Errcode::InvalidGroupName));
        assert_eq!(
            a.rename(100, &"a".repeat(31)),
            Err(Errcode::GroupNameTooLong)
        );
    }

    #[test]
    fn duplicate_names_are_allowed() {
        let mut a = Account::seeded(0);
        let x = a.create("同名").unwrap();
        let y = a.create("同名").unwrap();
        assert_ne!(x, y);
    }

    #[test]
    fn system_groups_cannot_be_renamed_or_deleted() {
        let mut a = Account::seeded(0);
        for id in 0..=2 {
            assert_eq!(a.rename(id, "x"), Err(Errcode::SystemGroup));
            assert_eq!(a.delete(id), Err(Errcode::SystemGroup));
        }
    }

    #[test]
    fn unknown_groups_answer_40050() {
        let mut a = Account::seeded(10);
        assert_eq!(a.rename(999, "x"), Err(Errcode::InvalidGroupId));
        assert_eq!(a.delete(999), Err(Errcode::InvalidGroupId));
        assert_eq!(a.move_members(&[0], 999), Err(Errcode::InvalidGroupId));
    }

    #[test]
    fn renaming_keeps_members_and_changes_the_name() {
        let mut a = Account::seeded(1_000);
        let before = a.groups.get(&100).cloned().unwrap();
        a.rename(100, "新名字").unwrap();
        let after = a.groups.get(&100).cloned().unwrap();
        assert_eq!(after.name, "新名字");
        assert_eq!(after.count, before.count);
    }

    #[test]
    fn moving_members_keeps_counts_right() {
        let mut a = Account::seeded(1_000);
        let g = a.create("目标").unwrap();
        a.move_members(&[1, 2, 3, 3], g).unwrap();
        assert_eq!(a.groups.get(&g).unwrap().count, 3);
        a.move_members(&[1], 1).unwrap();
        assert_eq!(a.group_of(1), Some(1));
        counts_match_membership(&a);
    }

    #[test]
    fn a_move_with_one_unknown_follower_moves_nobody() {
        let mut a = Account::seeded(100);
        let g = a.create("目标").unwrap();
        assert_eq!(a.move_members(&[1, 2, 100], g), Err(Errcode::InvalidOpenid));
        assert_eq!(a.groups.get(&g).unwrap().count, 0);
        assert_ne!(a.group_of(1), Some(g));
    }

    #[test]
    fn deleting_a_group_sends_its_members_back_to_group_0() {
        let mut a = Account::seeded(1_000);
        let members = a.groups.get(&100).unwrap().count;
        let ungrouped = a.groups.get(&0).unwrap().count;
        assert!(members > 0);
        a.delete(100).unwrap();
        assert_eq!(a.groups.get(&0).unwrap().count, ungrouped + members);
        assert!(!a.membership.contains(&100));
        counts_match_membership(&a);
    }

    #[test]
    fn a_million_followers_cost_about_four_megabytes() {
        let a = Account::seeded(1_000_000);
        assert_eq!(a.membership.capacity(), 1_000_000);
        counts_match_membership(&a);
    }
}
