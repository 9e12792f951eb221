//! The simulated account's tags (the user-tag API, successor of the groups) and its blacklist,
//! and WeChat's rules for changing them.
//!
//! Each tag keeps its members as a [`RoaringBitmap`] of follower indexes, and so does the
//! blacklist: nothing is stored per follower, so a million followers with the demo tags cost
//! about a megabyte and a half. `tags/get` reads each bitmap's length, a page of members is read from where the last
//! one ended, a follower's tags are found by asking each tag (at most 100), and deleting a tag
//! drops its bitmap without visiting its members. No call here looks at every follower.
//!
//! Tags and groups are two separate views of one account, as WeChat's notes advise treating them:
//! tag 2 (星标组) is not group 2, and this blacklist is not group 1.

use std::collections::BTreeMap;
use std::ops::{Bound, Range};

use roaring::RoaringBitmap;

use super::errcode::Errcode;
use super::openid::splitmix;

/// At most 100 tags per account, counting tag 2.
pub(crate) const MAX_TAGS: usize = 100;
/// A follower carries at most 20 tags.
pub(crate) const MAX_TAGS_PER_FOLLOWER: usize = 20;
/// "标签名（30个字节以内）": bytes of UTF-8, about 10 Chinese characters.
pub(crate) const MAX_TAG_NAME_BYTES: usize = 30;
/// A tag with more followers than this cannot be deleted (45057): untag them first.
pub(crate) const MAX_DELETABLE_MEMBERS: u64 = 100_000;
/// WeChat hands out tag ids from 100 upward.
const FIRST_USER_TAG_ID: u32 = 100;
/// The one system tag that is listed and can hold followers.
const STARRED: (u32, &str) = (2, "星标组");

/// Demo tags present from the start, and the share of followers (per mille) seeded into each.
/// Each tag rolls its own dice, so memberships overlap as real ones do.
const SEED: [(u32, &str, u64); 5] = [
    (STARRED.0, STARRED.1, 20),
    (100, "华东客户", 60),
    (101, "VIP", 30),
    (102, "活动报名", 80),
    (103, "内部测试", 5),
];
/// The share of followers (per mille) seeded into the blacklist.
const SEED_BLACKLIST: u64 = 4;
/// The blacklist's dice are rolled under the id WeChat's old docs give it.
const BLACKLIST_ID: u32 = 1;

#[derive(Debug)]
struct Tag {
    name: String,
    members: RoaringBitmap,
}

/// Tags, who carries them, and who is blacklisted.
#[derive(Debug)]
pub(crate) struct Tags {
    tags: BTreeMap<u32, Tag>,
    blacklist: RoaringBitmap,
    /// Never decreases: WeChat does not reuse a deleted tag's id.
    next_id: u32,
}

impl Tags {
    /// Tag 2 and the demo tags, with `followers` followers spread over them and the blacklist
    /// deterministically. Each bitmap is built in index order, which roaring appends cheaply.
    pub(crate) fn seeded(followers: u32) -> Self {
        let tags: BTreeMap<u32, Tag> = SEED
            .iter()
            .map(|&(id, name, per_mille)| {
                let tag = Tag {
                    name: name.to_owned(),
                    members: seeded_members(followers, id, per_mille),
                };
                (id, tag)
            })
            .collect();
        let next_id = tags
            .keys()
            .next_back()
            .map_or(FIRST_USER_TAG_ID, |&last| (last + 1).max(FIRST_USER_TAG_ID));
        Self {
            tags,
            blacklist: seeded_members(followers, BLACKLIST_ID, SEED_BLACKLIST),
            next_id,
        }
    }

    /// Every tag with its name and member count, ordered by id.
    pub(crate) fn list(&self) -> impl Iterator<Item = (u32, &str, u64)> {
        self.tags
            .iter()
            .map(|(&id, t)| (id, t.name.as_str(), t.members.len()))
    }

    /// How many tags exist, tag 2 included.
    pub(crate) fn count(&self) -> usize {
        self.tags.len()
    }

    /// How many followers carry tag `id`, or `None` if there is no such tag.
    pub(crate) fn members_len(&self, id: u32) -> Option<u64> {
        self.tags.get(&id).map(|t| t.members.len())
    }

    /// `tags/create`.
    pub(crate) fn create(&mut self, name: &str) -> Result<u32, Errcode> {
        self.check_name(name, None)?;
        if self.tags.len() >= MAX_TAGS {
            return Err(Errcode::TooManyTags);
        }
        let id = self.next_id;
        // Ids are signed 32-bit upstream; running out is WeChat's problem, shown as its -1.
        self.next_id = id
            .checked_add(1)
            .filter(|&n| n <= i32::MAX as u32)
            .ok_or(Errcode::SystemError)?;
        let tag = Tag {
            name: name.to_owned(),
            members: RoaringBitmap::new(),
        };
        self.tags.insert(id, tag);
        Ok(id)
    }

    /// `tags/update`. Keeping a tag's own name is not a duplicate.
    pub(crate) fn rename(&mut self, id: u32, name: &str) -> Result<(), Errcode> {
        if is_system(id) {
            return Err(Errcode::SystemTag);
        }
        if !self.tags.contains_key(&id) {
            return Err(Errcode::InvalidTagId);
        }
        self.check_name(name, Some(id))?;
        if let Some(tag) = self.tags.get_mut(&id) {
            tag.name = name.to_owned();
        }
        Ok(())
    }

    /// `tags/delete`: the tag leaves everyone who carried it, by dropping its bitmap.
    pub(crate) fn delete(&mut self, id: u32) -> Result<(), Errcode> {
        if is_system(id) {
            return Err(Errcode::SystemTag);
        }
        match self.tags.get(&id) {
            None => Err(Errcode::InvalidTagId),
            Some(tag) if tag.members.len() > MAX_DELETABLE_MEMBERS => {
                Err(Errcode::TagHasTooManyFollowers)
            }
            Some(_) => {
                self.tags.remove(&id);
                Ok(())
            }
        }
    }

    /// `user/tag/get`: up to `limit` members of tag `id` in index order, after `after` (from the
    /// first when `None`). Tags 0 and 1 are not tags one can list: 45159, like any unknown id.
    pub(crate) fn members_after(
        &self,
        id: u32,
        after: Option<u32>,
        limit: usize,
    ) -> Result<Vec<u32>, Errcode> {
        let tag = self.tags.get(&id).ok_or(Errcode::InvalidTagId)?;
        Ok(page(&tag.members, after, limit))
    }

    /// The tags the `index`-th follower carries, ascending (`tags/getidlist`, `user/info`).
    pub(crate) fn tags_of(&self, index: u32) -> Vec<u32> {
        self.tags
            .iter()
            .filter(|(_, t)| t.members.contains(index))
            .map(|(&id, _)| id)
            .collect()
    }

    /// `tags/members/batchtagging`: all of `indexes` carry tag `id`, or nobody changes.
    ///
    /// Someone who already carries the tag stays as they are: WeChat does not document this case
    /// and the lenient answer (ok) lets a client retry a chunk whose answer it lost. A follower
    /// who carries 20 *other* tags refuses the whole call with 45059.
    pub(crate) fn tag(&mut self, id: u32, indexes: &[u32]) -> Result<(), Errcode> {
        let members = self.writable(id)?;
        let full = indexes
            .iter()
            .any(|&i| !members.contains(i) && self.tag_count_of(i) >= MAX_TAGS_PER_FOLLOWER);
        if full {
            return Err(Errcode::FollowerHasTooManyTags);
        }
        let tag = self.tags.get_mut(&id).ok_or(Errcode::InvalidTagId)?;
        tag.members.extend(indexes.iter().copied());
        Ok(())
    }

    /// `tags/members/batchuntagging`. Untagging someone who does not carry the tag is a no-op
    /// that succeeds (undocumented upstream; lenient for the same reason as [`Self::tag`]).
    pub(crate) fn untag(&mut self, id: u32, indexes: &[u32]) -> Result<(), Errcode> {
        self.writable(id)?;
        let tag = self.tags.get_mut(&id).ok_or(Errcode::InvalidTagId)?;
        for &i in indexes {
            tag.members.remove(i);
        }
        Ok(())
    }

    /// Seeding for tests: every follower in `indexes` carries tag `id`, in one cheap step.
    ///
    /// The 20-tag rule is kept without looking at followers one by one: the range is refused
    /// (45059) as soon as 20 other tags have any member inside it.
    pub(crate) fn tag_range(&mut self, id: u32, indexes: Range<u32>) -> Result<(), Errcode> {
        self.writable(id)?;
        let crowded = self
            .tags
            .iter()
            .filter(|&(&other, t)| other != id && t.members.range_cardinality(indexes.clone()) > 0)
            .count();
        if crowded >= MAX_TAGS_PER_FOLLOWER {
            return Err(Errcode::FollowerHasTooManyTags);
        }
        let tag = self.tags.get_mut(&id).ok_or(Errcode::InvalidTagId)?;
        tag.members.insert_range(indexes);
        Ok(())
    }

    /// How many followers are blacklisted.
    pub(crate) fn blacklist_len(&self) -> u64 {
        self.blacklist.len()
    }

    pub(crate) fn is_blacklisted(&self, index: u32) -> bool {
        self.blacklist.contains(index)
    }

    /// `tags/members/getblacklist`: up to `limit` blacklisted followers after `after`.
    pub(crate) fn blacklist_after(&self, after: Option<u32>, limit: usize) -> Vec<u32> {
        page(&self.blacklist, after, limit)
    }

    /// `tags/members/batchblacklist`. Blacklisting someone already blacklisted is a no-op that
    /// succeeds (undocumented upstream; lenient, so a lost answer can be retried).
    pub(crate) fn blacklist(&mut self, indexes: &[u32]) {
        self.blacklist.extend(indexes.iter().copied());
    }

    /// `tags/members/batchunblacklist`, lenient in the same way.
    pub(crate) fn unblacklist(&mut self, indexes: &[u32]) {
        for &i in indexes {
            self.blacklist.remove(i);
        }
    }

    /// The members of a tag that tagging calls may change: any existing tag but 0 and 1. Tag 0
    /// means "untagged" and tag 1 is the blacklist, which has its own endpoints, so both answer
    /// 45058 (WeChat documents 45058 for 0/1/2 without naming the endpoints); tag 2 (星标组)
    /// holds followers like any other tag.
    fn writable(&self, id: u32) -> Result<&RoaringBitmap, Errcode> {
        if id <= BLACKLIST_ID {
            return Err(Errcode::SystemTag);
        }
        self.tags
            .get(&id)
            .map(|t| &t.members)
            .ok_or(Errcode::InvalidTagId)
    }

    /// How many tags the `index`-th follower carries: one look into each tag.
    fn tag_count_of(&self, index: u32) -> usize {
        self.tags
            .values()
            .filter(|t| t.members.contains(index))
            .count()
    }

    /// The name rules of `tags/create` and `tags/update` (`renaming` is the tag being renamed).
    ///
    /// Empty or only whitespace → 45157; more than 30 bytes → 45158; the name of another tag →
    /// 45157. Unlike groups, tags are unique by name: WeChat's 45157 says "非法或重名".
    fn check_name(&self, name: &str, renaming: Option<u32>) -> Result<(), Errcode> {
        if name.trim().is_empty() {
            return Err(Errcode::InvalidTagName);
        }
        if name.len() > MAX_TAG_NAME_BYTES {
            return Err(Errcode::TagNameTooLong);
        }
        let taken = self
            .tags
            .iter()
            .any(|(&id, t)| Some(id) != renaming && t.name == name);
        if taken {
            return Err(Errcode::InvalidTagName);
        }
        Ok(())
    }
}

/// Tags 0, 1 and 2 cannot be renamed or deleted.
fn is_system(id: u32) -> bool {
    id <= STARRED.0
}

/// Up to `limit` values of `bitmap` after `after`, in order; found in O(log n), not by skipping.
fn page(bitmap: &RoaringBitmap, after: Option<u32>, limit: usize) -> Vec<u32> {
    let start = after.map_or(Bound::Unbounded, Bound::Excluded);
    bitmap
        .range((start, Bound::Unbounded))
        .take(limit)
        .collect()
}

/// The seeded members of tag `id`: each follower rolls a die of its own for each tag.
fn seeded_members(followers: u32, id: u32, per_mille: u64) -> RoaringBitmap {
    let mut members = RoaringBitmap::new();
    for index in (0..followers).filter(|&i| seed_roll(i, id) < per_mille) {
        // In increasing order, so each push appends.
        members.push(index);
    }
    members
}

/// A number in 0..1000 for the `index`-th follower and tag `id`, the same on every run.
fn seed_roll(index: u32, id: u32) -> u64 {
    splitmix((u64::from(id) << 32 | u64::from(index)) ^ 0x7a65_ed00) % 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes a tag state holds on the heap, erring high: each bitmap's containers as roaring
    /// counts them (array containers by capacity, not length, at 4 bytes a value where 2 are
    /// used), 32 bytes per container header, and the names with their map entries.
    fn heap_bytes(t: &Tags) -> u64 {
        let bitmap = |b: &RoaringBitmap| {
            let s = b.statistics();
            s.n_bytes_array_containers
                + s.n_bytes_run_containers
                + s.n_bytes_bitset_containers
                + u64::from(s.n_containers) * 32
        };
        let tags: u64 = t
            .tags
            .values()
            .map(|tag| bitmap(&tag.members) + tag.name.capacity() as u64 + 64)
            .sum();
        tags + bitmap(&t.blacklist)
    }

    fn members(t: &Tags, id: u32) -> Vec<u32> {
        t.members_after(id, None, usize::MAX).unwrap()
    }

    #[test]
    fn a_seeded_account_has_tag_2_and_the_demo_tags_with_overlapping_members() {
        let t = Tags::seeded(10_000);
        let listed: Vec<(u32, &str)> = t.list().map(|(id, name, _)| (id, name)).collect();
        assert_eq!(
            listed,
            [
                (2, "星标组"),
                (100, "华东客户"),
                (101, "VIP"),
                (102, "活动报名"),
                (103, "内部测试")
            ]
        );
        let counts: Vec<u64> = t.list().map(|(_, _, n)| n).collect();
        // Near their shares of 10,000: 2%, 6%, 3%, 8%, 0.5%.
        for (count, expected) in counts.iter().zip([200, 600, 300, 800, 50]) {
            assert!(count.abs_diff(expected) < expected / 3 + 10, "{counts:?}");
        }
        let both = (0..10_000).filter(|&i| t.tags_of(i).len() >= 2).count();
        assert!(both > 50, "memberships overlap: {both}");
        assert!(
            (20..=70).contains(&t.blacklist_len()),
            "{}",
            t.blacklist_len()
        );
    }

    #[test]
    fn seeding_is_deterministic() {
        let (a, b) = (Tags::seeded(5_000), Tags::seeded(5_000));
        for id in [2, 100, 101, 102, 103] {
            assert_eq!(members(&a, id), members(&b, id));
        }
        assert_eq!(a.blacklist, b.blacklist);
    }

    #[test]
    fn a_million_followers_cost_under_two_megabytes_of_tags() {
        let t = Tags::seeded(1_000_000);
        let bytes = heap_bytes(&t);
        // 1.6 MB as counted here, where roaring counts 4 bytes per array value (a u16 takes 2):
        // 16 containers per bitmap, none above 8 KB of bits. A Vec<u8> of tag ids per follower
        // would cost 24 MB in headers alone.
        assert!(bytes < 2 * 1024 * 1024, "{bytes} bytes");
        let starred = t.members_len(2).unwrap();
        assert!((15_000..25_000).contains(&starred), "{starred}");
    }

    #[test]
    fn new_tag_ids_continue_after_the_seeded_ones_and_are_never_reused() {
        let mut t = Tags::seeded(10);
        let x = t.create("x").unwrap();
        assert_eq!(x, 104);
        t.delete(x).unwrap();
        assert_eq!(t.create("y").unwrap(), 105);
    }

    #[test]
    fn the_100th_tag_counting_tag_2_is_the_last() {
        let mut t = Tags::seeded(0);
        for n in t.count()..MAX_TAGS {
            t.create(&format!("t{n}")).unwrap();
        }
        assert_eq!(t.count(), 100);
        assert_eq!(t.create("one too many"), Err(Errcode::TooManyTags));
        t.delete(100).unwrap();
        assert!(t.create("fits again").is_ok());
    }

    #[test]
    fn a_name_is_1_to_30_bytes_not_characters() {
        let mut t = Tags::seeded(0);
        assert_eq!(t.create(""), Err(Errcode::InvalidTagName));
        assert_eq!(t.create(" \t "), Err(Errcode::InvalidTagName));
        // 10 Chinese characters are 30 bytes; 11 characters with one ASCII are 31.
        assert!(t.create(&"标".repeat(10)).is_ok());
        let eleven = format!("{}a", "标".repeat(10));
        assert_eq!((eleven.chars().count(), eleven.len()), (11, 31));
        assert_eq!(t.create(&eleven), Err(Errcode::TagNameTooLong));
        assert!(t.create(&"a".repeat(30)).is_ok());
        assert_eq!(t.create(&"a".repeat(31)), Err(Errcode::TagNameTooLong));
        assert_eq!(t.rename(100, &eleven), Err(Errcode::TagNameTooLong));
        assert_eq!(t.rename(100, ""), Err(Errcode::InvalidTagName));
    }

    #[test]
    fn a_name_another_tag_has_is_refused_but_a_tag_may_keep_its_own() {
        let mut t = Tags::seeded(0);
        assert_eq!(t.create("VIP"), Err(Errcode::InvalidTagName));
        assert_eq!(t.create("星标组"), Err(Errcode::InvalidTagName));
        assert_eq!(t.rename(100, "VIP"), Err(Errcode::InvalidTagName));
        assert_eq!(t.rename(101, "VIP"), Ok(()));
        t.rename(101, "贵宾").unwrap();
        assert!(t.create("VIP").is_ok(), "the old name is free again");
    }

    #[test]
    fn system_tags_cannot_be_renamed_or_deleted_and_unknown_ones_answer_45159() {
        let mut t = Tags::seeded(10);
        for id in 0..=2 {
            assert_eq!(t.rename(id, "x"), Err(Errcode::SystemTag));
            assert_eq!(t.delete(id), Err(Errcode::SystemTag));
        }
        assert_eq!(t.rename(999, "x"), Err(Errcode::InvalidTagId));
        assert_eq!(t.delete(999), Err(Errcode::InvalidTagId));
        assert_eq!(t.tag(999, &[1]), Err(Errcode::InvalidTagId));
        assert_eq!(t.untag(999, &[1]), Err(Errcode::InvalidTagId));
        assert_eq!(t.members_after(999, None, 10), Err(Errcode::InvalidTagId));
        assert_eq!(t.members_after(1, None, 10), Err(Errcode::InvalidTagId));
    }

    #[test]
    fn tags_0_and_1_cannot_be_given_but_tag_2_can() {
        let mut t = Tags::seeded(10);
        for id in [0, 1] {
            assert_eq!(t.tag(id, &[3]), Err(Errcode::SystemTag));
            assert_eq!(t.untag(id, &[3]), Err(Errcode::SystemTag));
        }
        t.untag(2, &[3]).unwrap();
        t.tag(2, &[3]).unwrap();
        assert!(t.tags_of(3).contains(&2));
    }

    #[test]
    fn tagging_and_untagging_keep_counts_and_repeat_harmlessly() {
        let mut t = Tags::seeded(0);
        let id = t.create("新").unwrap();
        t.tag(id, &[5, 6, 7, 7]).unwrap();
        assert_eq!(t.members_len(id), Some(3));
        t.tag(id, &[5]).unwrap();
        assert_eq!(t.members_len(id), Some(3), "already tagged: no change");
        t.untag(id, &[6, 8]).unwrap();
        assert_eq!(members(&t, id), [5, 7], "8 never had it: no change");
        assert_eq!(t.tags_of(5), [id]);
        assert_eq!(t.tags_of(6), Vec::<u32>::new());
    }

    #[test]
    fn a_follower_with_20_other_tags_cannot_get_a_21st_and_nobody_in_the_call_changes() {
        let mut t = Tags::seeded(0);
        let ids: Vec<u32> = (0..21)
            .map(|n| t.create(&format!("t{n}")).unwrap())
            .collect();
        for &id in &ids[..20] {
            t.tag(id, &[9]).unwrap();
        }
        assert_eq!(t.tags_of(9).len(), 20);
        assert_eq!(
            t.tag(ids[20], &[1, 9]),
            Err(Errcode::FollowerHasTooManyTags)
        );
        assert_eq!(
            t.members_len(ids[20]),
            Some(0),
            "follower 1 was not tagged either"
        );
        // Re-tagging with one of the 20 is not a 21st.
        assert_eq!(t.tag(ids[0], &[9]), Ok(()));
        t.untag(ids[0], &[9]).unwrap();
        assert_eq!(t.tag(ids[20], &[1, 9]), Ok(()));
        assert_eq!(t.tags_of(9).len(), 20);
    }

    #[test]
    fn a_tag_with_more_than_100000_followers_cannot_be_deleted() {
        let mut t = Tags::seeded(0);
        let id = t.create("大").unwrap();
        t.tag_range(id, 0..100_001).unwrap();
        assert_eq!(t.members_len(id), Some(100_001));
        assert_eq!(t.delete(id), Err(Errcode::TagHasTooManyFollowers));
        t.untag(id, &[0]).unwrap();
        assert_eq!(t.delete(id), Ok(()));
        assert_eq!(t.members_len(id), None);
        assert!(t.tags_of(5).is_empty(), "gone from everyone");
    }

    #[test]
    fn a_range_is_refused_where_20_other_tags_have_members() {
        let mut t = Tags::seeded(0);
        let ids: Vec<u32> = (0..21)
            .map(|n| t.create(&format!("t{n}")).unwrap())
            .collect();
        for &id in &ids[..20] {
            t.tag(id, &[50]).unwrap();
        }
        assert_eq!(
            t.tag_range(ids[20], 0..100),
            Err(Errcode::FollowerHasTooManyTags)
        );
        assert_eq!(t.members_len(ids[20]), Some(0));
        assert_eq!(t.tag_range(ids[20], 51..100), Ok(()));
        assert_eq!(t.tag_range(0, 0..10), Err(Errcode::SystemTag));
        assert_eq!(t.tag_range(999, 0..10), Err(Errcode::InvalidTagId));
    }

    #[test]
    fn members_come_in_pages_that_start_after_the_last_one() {
        let mut t = Tags::seeded(0);
        let id = t.create("页").unwrap();
        t.tag(id, &[3, 10, 11, 400, 70_000, 200_000]).unwrap();
        assert_eq!(t.members_after(id, None, 4), Ok(vec![3, 10, 11, 400]));
        assert_eq!(t.members_after(id, Some(400), 4), Ok(vec![70_000, 200_000]));
        assert_eq!(
            t.members_after(id, Some(12), 1),
            Ok(vec![400]),
            "not a member: after it"
        );
        assert_eq!(t.members_after(id, Some(200_000), 4), Ok(vec![]));
        assert_eq!(t.members_after(id, Some(u32::MAX), 4), Ok(vec![]));
    }

    #[test]
    fn the_blacklist_takes_and_releases_followers_and_repeats_harmlessly() {
        let mut t = Tags::seeded(0);
        t.blacklist(&[4, 2, 4]);
        t.blacklist(&[2]);
        assert_eq!(t.blacklist_len(), 2);
        assert!(t.is_blacklisted(2) && t.is_blacklisted(4) && !t.is_blacklisted(3));
        assert_eq!(t.blacklist_after(None, 1), [2]);
        assert_eq!(t.blacklist_after(Some(2), 10), [4]);
        t.unblacklist(&[2, 3]);
        assert_eq!(t.blacklist_after(None, 10), [4]);
        assert!(
            t.list().all(|(id, _, _)| id != 1),
            "the blacklist is not a listed tag"
        );
    }
}
