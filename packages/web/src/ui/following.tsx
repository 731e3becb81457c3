import { describeError } from "../state/errors.js";
import { chat, notice } from "../state/model.js";
import { dismissFollowedPost, follow, joinRoom, unfollow } from "../state/session.js";

/** SUB-1: follow or stop following a person from the People list. */
export function FollowButton({ userId, username }: { userId: string; username: string }) {
  const following = chat.value.following.some((p) => p.id === userId);
  const act = () =>
    (following ? unfollow(userId) : follow(userId)).catch((e: unknown) => {
      notice.value = describeError(e);
    });
  return (
    <button
      type="button"
      class="small"
      aria-pressed={following}
      aria-label={`${following ? "Unfollow" : "Follow"} ${username}`}
      title="Following shows the public rooms a person posts in"
      onClick={() => void act()}
    >
      {following ? "Following" : "Follow"}
    </button>
  );
}

/**
 * SUB-2: public rooms someone this person follows posted in, which this person is not in. Only a
 * room's members can read it, so this is an offer to join and read what is said from now on.
 */
export function FollowedPosts() {
  const posts = chat.value.followedPosts;
  if (posts.length === 0) return null;
  return (
    <section class="invitations">
      <h2 class="section-title">Followed</h2>
      <ul aria-label="Followed posts">
        {posts.map((p) => (
          <li key={p.roomId} data-room={p.roomId}>
            <span>
              {p.by.username} posted {p.count === 1 ? "" : `${p.count} times `}in public room{" "}
              <strong>{p.roomId}</strong>. Join to read what is said there from now on.
            </span>
            <span class="row">
              <button
                type="button"
                class="small primary"
                onClick={() =>
                  joinRoom(p.roomId).catch((e: unknown) => {
                    notice.value = describeError(e);
                  })
                }
              >
                Join {p.roomId}
              </button>
              <button type="button" class="small" onClick={() => dismissFollowedPost(p.roomId)}>
                Dismiss {p.roomId}
              </button>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
